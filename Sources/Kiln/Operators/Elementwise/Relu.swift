/// `Relu`: max(x, 0), elementwise. Float types.
package struct Relu: Operator {
    package static let opType = "Relu"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        guard input.dtype == .float32 else { throw OperatorError("Relu supports float32, got \(input.dtype)") }
        return [input]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard let input = inputs[0] else { throw OperatorError("input is missing") }
        let output = try Tensor.uninitialized(input.dtype, shape: input.shape)
        input.withUnsafePointer(as: Float.self) { source in
            output.withUnsafeMutablePointer(as: Float.self) { destination in
                context.parallelFor(input.count, minimumChunk: 1 << 15) { range in
                    ReluKernel.fast(source + range.lowerBound, destination + range.lowerBound, count: range.count)
                }
            }
        }
        return [output]
    }
}

/// Relu kernels: a straightforward reference and the fast path (identical here because the plain
/// loop auto-vectorizes; kept separate so the test pins the fast one against the reference).
package enum ReluKernel {
    package static func reference(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        for index in 0..<count { destination[index] = source[index] > 0 ? source[index] : 0 }
    }

    @inlinable
    package static func fast(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        for index in 0..<count { destination[index] = max(source[index], 0) }
    }
}
