/// `Range`: `[start, start + delta, ...]` up to but excluding `limit`, with
/// `max(ceil((limit - start) / delta), 0)` elements. Inputs are scalars of one type: float32,
/// float16, int32 or int64.
package struct RangeOperator: Operator {
    package static let opType = "Range"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 3...3)
    }

    private static let supported: Set<DType> = [.float32, .float16, .int32, .int64]

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let types = try (0..<3).map { try ShapeInference.requireType(inputs, $0) }
        let dtype = types[0].dtype
        guard RangeOperator.supported.contains(dtype) else { throw OperatorError("Range supports float32, float16, int32 and int64, got \(dtype)") }
        for (name, type) in zip(["limit", "delta"], types.dropFirst()) where type.dtype != dtype {
            throw OperatorError("\(name) is \(type.dtype), start is \(dtype)")
        }
        if let start = inputs[0].constant, let limit = inputs[1].constant, let delta = inputs[2].constant {
            return [TensorType(dtype, [.fixed(try RangeOperator.count(start: start, limit: limit, delta: delta))])]
        }
        // arange(n), as exports write position ids, has exactly n elements.
        if inputs[0].constantIntegers == [0], inputs[2].constantIntegers == [1], let limit = inputs[1].dimsValue, limit.count == 1 {
            return [TensorType(dtype, limit)]
        }
        return [TensorType(dtype, [symbols.fresh()])]
    }

    static func scalar(_ tensor: Tensor, _ name: String) throws -> Tensor {
        guard tensor.count == 1, tensor.rank <= 1 else { throw OperatorError("\(name) must be a scalar, has shape \(tensor.shape)") }
        return tensor
    }

    /// The number of elements, checked for a zero delta and for sizes that cannot be represented.
    static func count(start: Tensor, limit: Tensor, delta: Tensor) throws -> Int {
        let values = try [scalar(start, "start"), scalar(limit, "limit"), scalar(delta, "delta")]
        if start.dtype.isFloatingPoint {
            let (first, last, step) = (Double(values[0].floats()[0]), Double(values[1].floats()[0]), Double(values[2].floats()[0]))
            guard step != 0 else { throw OperatorError("delta must not be 0") }
            let count = ((last - first) / step).rounded(.up)
            guard count.isFinite, count < Double(Int32.max) else {
                throw OperatorError("Range(\(first), \(last), \(step)) has too many elements")
            }
            return max(Int(count), 0)
        }
        let (first, last, step) = (Int(values[0].int64s()[0]), Int(values[1].int64s()[0]), Int(values[2].int64s()[0]))
        guard step != 0 else { throw OperatorError("delta must not be 0") }
        let (span, overflow) = last.subtractingReportingOverflow(first)
        guard !overflow, span != Int.min else { throw OperatorError("Range(\(first), \(last), \(step)) has too many elements") }
        if step > 0 { return span > 0 ? (span - 1) / step + 1 : 0 }
        return span < 0 ? (-span - 1) / -step + 1 : 0
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let start = try OperatorInput.required(inputs, 0, name: "start")
        let limit = try OperatorInput.required(inputs, 1, name: "limit")
        let delta = try OperatorInput.required(inputs, 2, name: "delta")
        guard RangeOperator.supported.contains(start.dtype), limit.dtype == start.dtype, delta.dtype == start.dtype else {
            throw OperatorError("start, limit and delta must share one of float32, float16, int32, int64; got \(start.dtype), \(limit.dtype), \(delta.dtype)")
        }
        let count = try RangeOperator.count(start: start, limit: limit, delta: delta)
        let output = try Tensor.uninitialized(start.dtype, shape: [count])
        // Each element adds delta to the previous one in the tensor's own type, as ONNX Runtime does.
        func fill<T: Numeric>(_ type: T.Type, _ add: (T, T) -> T) {
            let first = start.withUnsafePointer(as: T.self) { $0[0] }
            let step = delta.withUnsafePointer(as: T.self) { $0[0] }
            output.withUnsafeMutablePointer(as: T.self) { values in
                var value = first
                for index in 0..<count {
                    values[index] = value
                    value = add(value, step)
                }
            }
        }
        switch start.dtype {
        case .float32: fill(Float.self, +)
        case .float16: fill(Float16.self, +)
        case .int32: fill(Int32.self, &+)
        default: fill(Int64.self, &+)
        }
        return [output]
    }
}
