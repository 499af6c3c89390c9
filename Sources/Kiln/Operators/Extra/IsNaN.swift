/// `IsNaN`: true where an element of a float32 or float16 tensor is NaN.
package struct IsNaN: Operator {
    package static let opType = "IsNaN"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        [try FloatClassification.inferTypes(inputs, opType: Self.opType)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let input = try OperatorInput.required(inputs, 0, name: "X")
        return [try FloatClassification.classify(input, as: .notANumber, opType: Self.opType)]
    }
}

/// `IsInf`: true where an element of a float32 or float16 tensor is an infinity; `detect_positive`
/// and `detect_negative` (both default 1) choose which signs count.
package struct IsInf: Operator {
    package static let opType = "IsInf"

    package let detectPositive: Bool
    package let detectNegative: Bool

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
        detectPositive = try node.int("detect_positive", default: 1) != 0
        detectNegative = try node.int("detect_negative", default: 1) != 0
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        [try FloatClassification.inferTypes(inputs, opType: Self.opType)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let input = try OperatorInput.required(inputs, 0, name: "X")
        return [try FloatClassification.classify(
            input, as: .infinity(positive: detectPositive, negative: detectNegative), opType: Self.opType)]
    }
}

/// The shared evaluation of `IsNaN` and `IsInf`: a float-to-bool map. Float16 is widened to Float,
/// which keeps NaN and the infinities.
package enum FloatClassification: Sendable, Equatable {
    case notANumber
    /// Infinities of the chosen signs.
    case infinity(positive: Bool, negative: Bool)

    package static func inferTypes(_ inputs: [InferenceInput], opType: String) throws -> TensorType {
        let input = try ShapeInference.requireType(inputs, 0)
        guard input.dtype.isFloatingPoint else { throw OperatorError("\(opType) supports float32 and float16, got \(input.dtype)") }
        return TensorType(.bool, input.shape)
    }

    package static func classify(_ input: Tensor, as kind: FloatClassification, opType: String) throws -> Tensor {
        guard input.dtype.isFloatingPoint else { throw OperatorError("\(opType) supports float32 and float16, got \(input.dtype)") }
        let output = try Tensor.uninitialized(.bool, shape: input.shape)
        output.withUnsafeMutablePointer(as: Bool.self) { flags in
            if input.dtype == .float32 {
                input.withUnsafePointer(as: Float.self) { classifyKernel($0, flags, count: input.count, kind: kind) }
            } else {
                input.withUnsafePointer(as: Float16.self) { classifyKernel($0, flags, count: input.count, kind: kind) }
            }
        }
        return output
    }

    private static func classifyKernel<Scalar: BinaryFloatingPoint>(
        _ values: UnsafePointer<Scalar>, _ flags: UnsafeMutablePointer<Bool>, count: Int, kind: FloatClassification
    ) {
        switch kind {
        case .notANumber:
            for index in 0..<count { flags[index] = values[index].isNaN }
        case .infinity(let positive, let negative):
            let upper: Scalar = positive ? .infinity : .nan, lower: Scalar = negative ? -.infinity : .nan
            for index in 0..<count { flags[index] = values[index] == upper || values[index] == lower }
        }
    }
}
