/// Shared machinery of the elementwise operators: running a per-element function over tensors
/// (broadcasting, splitting large outputs across threads) and the common type-inference rules.
package enum Elementwise {
    /// How much work one element costs, which sets the smallest chunk worth a thread.
    package enum Cost: Sendable {
        /// An add or a compare: a thread only pays off on large tensors.
        case cheap
        /// A vectorized approximation such as ``FastMath/exp(_:)``.
        case moderate
        /// A libm call, integer division or a software float16 conversion per element.
        case expensive

        var minimumChunk: Int {
            switch self {
            case .cheap: return 1 << 16
            case .moderate: return 1 << 13
            case .expensive: return 1 << 11
            }
        }
    }

    // MARK: Running

    /// Applies `function` to every element of `input`.
    /// - Throws: ``OperatorError`` when `input` does not hold `Function.Input`.
    package static func unary<Function: UnaryElementwiseFunction>(
        _ function: Function, _ input: Tensor, cost: Cost, context: ExecutionContext
    ) throws -> Tensor where Function.Input: TensorScalar, Function.Output: TensorScalar {
        try expect(input, holds: Function.Input.dtype, operand: "input")
        let output = try Tensor.uninitialized(Function.Output.dtype, shape: input.shape)
        input.withUnsafePointer(as: Function.Input.self) { source in
            output.withUnsafeMutablePointer(as: Function.Output.self) { destination in
                context.parallelFor(input.count, minimumChunk: cost.minimumChunk) { range in
                    UnaryKernel.run(function, source + range.lowerBound, destination + range.lowerBound,
                                    count: range.count)
                }
            }
        }
        return output
    }

    /// Applies a Float function to a float32 tensor, or to a float16 one through float32.
    /// - Throws: ``OperatorError`` for any other dtype.
    package static func floatUnary<Function: UnaryElementwiseFunction>(
        _ function: Function, _ input: Tensor, cost: Cost, context: ExecutionContext
    ) throws -> Tensor where Function.Input == Float, Function.Output == Float {
        switch input.dtype {
        case .float32: return try unary(function, input, cost: cost, context: context)
        case .float16: return try unary(HalfPrecision(function), input, cost: .expensive, context: context)
        default: throw OperatorError("expects a float32 or float16 input, got \(input.dtype)")
        }
    }

    /// Applies a numeric operation to a tensor of any numeric dtype.
    package static func numericUnary<Operation: NumericUnaryOperation>(
        _ operation: Operation, _ input: Tensor, context: ExecutionContext
    ) throws -> Tensor {
        switch input.dtype {
        case .float32: return try unary(NumericUnaryFunction<Operation, Float>(operation), input, cost: .cheap, context: context)
        case .float16: return try unary(NumericUnaryFunction<Operation, Float16>(operation), input, cost: .expensive, context: context)
        case .int64: return try unary(NumericUnaryFunction<Operation, Int64>(operation), input, cost: .cheap, context: context)
        case .int32: return try unary(NumericUnaryFunction<Operation, Int32>(operation), input, cost: .cheap, context: context)
        case .int8: return try unary(NumericUnaryFunction<Operation, Int8>(operation), input, cost: .cheap, context: context)
        case .uint8: return try unary(NumericUnaryFunction<Operation, UInt8>(operation), input, cost: .cheap, context: context)
        case .bool: throw OperatorError("expects a numeric input, got bool")
        }
    }

    /// Applies `function` to `left` and `right` broadcast against each other (ONNX multidirectional
    /// broadcasting).
    /// - Throws: ``OperatorError`` when the dtypes are not the function's or the shapes do not
    ///   broadcast.
    package static func binary<Function: BinaryElementwiseFunction>(
        _ function: Function, _ left: Tensor, _ right: Tensor, cost: Cost, context: ExecutionContext
    ) throws -> Tensor where Function.Left: TensorScalar, Function.Right: TensorScalar, Function.Output: TensorScalar {
        try expect(left, holds: Function.Left.dtype, operand: "input 0")
        try expect(right, holds: Function.Right.dtype, operand: "input 1")
        let plan = try BroadcastPlan(operandShapes: [left.shape, right.shape])
        let output = try Tensor.uninitialized(Function.Output.dtype, shape: plan.outputShape)
        left.withUnsafePointer(as: Function.Left.self) { leftBase in
            right.withUnsafePointer(as: Function.Right.self) { rightBase in
                output.withUnsafeMutablePointer(as: Function.Output.self) { outputBase in
                    context.parallelFor(plan.outputCount, minimumChunk: cost.minimumChunk) { range in
                        BroadcastKernel.binary(function, plan: plan, leftBase, rightBase, outputBase, range: range)
                    }
                }
            }
        }
        return output
    }

    /// Applies `function` to three operands broadcast against each other.
    package static func ternary<Function: TernaryElementwiseFunction>(
        _ function: Function, _ first: Tensor, _ second: Tensor, _ third: Tensor, cost: Cost,
        context: ExecutionContext
    ) throws -> Tensor
    where Function.First: TensorScalar, Function.Second: TensorScalar, Function.Third: TensorScalar,
        Function.Output: TensorScalar
    {
        try expect(first, holds: Function.First.dtype, operand: "input 0")
        try expect(second, holds: Function.Second.dtype, operand: "input 1")
        try expect(third, holds: Function.Third.dtype, operand: "input 2")
        let plan = try BroadcastPlan(operandShapes: [first.shape, second.shape, third.shape])
        let output = try Tensor.uninitialized(Function.Output.dtype, shape: plan.outputShape)
        first.withUnsafePointer(as: Function.First.self) { firstBase in
            second.withUnsafePointer(as: Function.Second.self) { secondBase in
                third.withUnsafePointer(as: Function.Third.self) { thirdBase in
                    output.withUnsafeMutablePointer(as: Function.Output.self) { outputBase in
                        context.parallelFor(plan.outputCount, minimumChunk: cost.minimumChunk) { range in
                            BroadcastKernel.ternary(function, plan: plan, firstBase, secondBase, thirdBase,
                                                    outputBase, range: range)
                        }
                    }
                }
            }
        }
        return output
    }

    /// Applies a numeric operation to two tensors of the same numeric dtype, broadcasting.
    package static func numericBinary<Operation: NumericBinaryOperation>(
        _ operation: Operation, _ left: Tensor, _ right: Tensor, context: ExecutionContext
    ) throws -> Tensor {
        try expectSameDType(left, right)
        switch left.dtype {
        case .float32: return try binary(NumericBinaryFunction<Operation, Float>(operation), left, right, cost: .cheap, context: context)
        case .float16: return try binary(NumericBinaryFunction<Operation, Float16>(operation), left, right, cost: .expensive, context: context)
        case .int64: return try binary(NumericBinaryFunction<Operation, Int64>(operation), left, right, cost: .cheap, context: context)
        case .int32: return try binary(NumericBinaryFunction<Operation, Int32>(operation), left, right, cost: .cheap, context: context)
        case .int8: return try binary(NumericBinaryFunction<Operation, Int8>(operation), left, right, cost: .cheap, context: context)
        case .uint8: return try binary(NumericBinaryFunction<Operation, UInt8>(operation), left, right, cost: .cheap, context: context)
        case .bool: throw OperatorError("expects numeric inputs, got bool")
        }
    }

    /// Compares two tensors of the same numeric dtype elementwise, broadcasting, into a bool tensor.
    package static func comparison<Operation: NumericComparison>(
        _ operation: Operation, _ left: Tensor, _ right: Tensor, context: ExecutionContext
    ) throws -> Tensor {
        try expectSameDType(left, right)
        switch left.dtype {
        case .float32: return try binary(NumericComparisonFunction<Operation, Float>(operation), left, right, cost: .cheap, context: context)
        case .float16: return try binary(NumericComparisonFunction<Operation, Float16>(operation), left, right, cost: .expensive, context: context)
        case .int64: return try binary(NumericComparisonFunction<Operation, Int64>(operation), left, right, cost: .cheap, context: context)
        case .int32: return try binary(NumericComparisonFunction<Operation, Int32>(operation), left, right, cost: .cheap, context: context)
        case .int8: return try binary(NumericComparisonFunction<Operation, Int8>(operation), left, right, cost: .cheap, context: context)
        case .uint8: return try binary(NumericComparisonFunction<Operation, UInt8>(operation), left, right, cost: .cheap, context: context)
        case .bool: throw OperatorError("expects numeric inputs, got bool")
        }
    }

    /// Folds a variadic operator (Sum, Max, Min) over its inputs pairwise, broadcasting at each step.
    package static func numericFold<Operation: NumericBinaryOperation>(
        _ operation: Operation, _ inputs: [Tensor?], context: ExecutionContext
    ) throws -> Tensor {
        let present = try inputs.enumerated().map { index, tensor -> Tensor in
            guard let tensor else { throw OperatorError("input \(index) is missing") }
            return tensor
        }
        guard let first = present.first else { throw OperatorError("needs at least one input") }
        guard present.count > 1 else {
            // One input: the result is that input (checked, so a bool input still fails).
            if first.dtype == .bool { throw OperatorError("expects numeric inputs, got bool") }
            return first
        }
        var result = first
        for next in present.dropFirst() {
            result = try numericBinary(operation, result, next, context: context)
        }
        return result
    }

    /// The input at `index`, or an error when it is absent.
    package static func require(_ inputs: [Tensor?], _ index: Int) throws -> Tensor {
        guard index < inputs.count, let tensor = inputs[index] else { throw OperatorError("input \(index) is missing") }
        return tensor
    }

    static func expect(_ tensor: Tensor, holds dtype: DType, operand: String) throws {
        guard tensor.dtype == dtype else { throw OperatorError("\(operand) must be \(dtype), got \(tensor.dtype)") }
    }

    static func expectSameDType(_ left: Tensor, _ right: Tensor) throws {
        guard left.dtype == right.dtype else {
            throw OperatorError("inputs must have the same dtype, got \(left.dtype) and \(right.dtype)")
        }
    }

    // MARK: Type inference

    /// The dtypes the arithmetic operators accept.
    package static let numericDTypes: [DType] = [.float32, .float16, .int64, .int32, .int8, .uint8]
    /// The dtypes the float-only operators accept.
    package static let floatDTypes: [DType] = [.float32, .float16]

    /// Output type of an operator whose inputs must all be present, share one dtype out of
    /// `allowed`, and broadcast together.
    /// - Parameters:
    ///   - inputs: The operator's inputs.
    ///   - allowed: Accepted input dtypes.
    ///   - output: The output dtype; nil for the inputs' dtype.
    /// - Returns: The broadcast type; its shape is unknown when any input's rank is.
    package static func inferBroadcast(
        _ inputs: [InferenceInput], allowed: [DType], output: DType? = nil, symbols: inout SymbolGenerator
    ) throws -> TensorType {
        guard !inputs.isEmpty else { throw OperatorError("needs at least one input") }
        var types: [TensorType] = []
        for index in inputs.indices { types.append(try ShapeInference.requireType(inputs, index)) }
        let dtype = types[0].dtype
        try checkDType(dtype, allowed: allowed, operand: "input 0")
        for (index, type) in types.enumerated().dropFirst() where type.dtype != dtype {
            throw OperatorError("input \(index) is \(type.dtype) but input 0 is \(dtype); the inputs must share one dtype")
        }
        return TensorType(output ?? dtype, try broadcastShape(types, symbols: &symbols))
    }

    /// Output type of a one-input operator that keeps shape: `allowed` input dtypes.
    package static func inferSameShape(
        _ inputs: [InferenceInput], allowed: [DType], output: DType? = nil
    ) throws -> TensorType {
        let input = try ShapeInference.requireType(inputs, 0)
        try checkDType(input.dtype, allowed: allowed, operand: "input 0")
        return TensorType(output ?? input.dtype, input.shape)
    }

    /// The broadcast of the shapes of `types`, nil when a rank is unknown.
    package static func broadcastShape(_ types: [TensorType], symbols: inout SymbolGenerator) throws -> [Dim]? {
        var shapes: [[Dim]] = []
        for type in types {
            guard let shape = type.shape else { return nil }
            shapes.append(shape)
        }
        do {
            return try ShapeInference.broadcast(shapes, symbols: &symbols)
        } catch {
            let listed = shapes.map { "[" + $0.map(\.description).joined(separator: ", ") + "]" }
            throw OperatorError("input shapes \(listed.joined(separator: ", ")) do not broadcast")
        }
    }

    package static func checkDType(_ dtype: DType, allowed: [DType], operand: String) throws {
        guard allowed.contains(dtype) else {
            throw OperatorError("\(operand) is \(dtype); supported: \(allowed.map(\.description).joined(separator: ", "))")
        }
    }
}
