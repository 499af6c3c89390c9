/// `Relu`: max(x, 0), elementwise, for float32, float16 and the integer types (opset 14 added the
/// signed integers). NaN and -0 pass through, as in ONNX Runtime.
package struct Relu: Operator, NumericUnaryOperation {
    package static let opType = "Relu"
    package static let mayRunInPlace = true

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        [try Elementwise.inferSameShape(inputs, allowed: Elementwise.numericDTypes)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard let input = inputs[0] else { throw OperatorError("input is missing") }
        guard input.dtype == .float32 else { return [try Elementwise.numericUnary(self, input, context: context)] }
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

    @inline(__always)
    package func apply<Scalar: ElementwiseNumeric>(_ x: Scalar) -> Scalar { x < Scalar.zero ? Scalar.zero : x }
}

/// Relu kernels: a straightforward reference and the fast path (identical here because the plain
/// loop auto-vectorizes; kept separate so the test pins the fast one against the reference).
package enum ReluKernel {
    package static func reference(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        for index in 0..<count { destination[index] = source[index] < 0 ? 0 : source[index] }
    }

    @inlinable
    package static func fast(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        for index in 0..<count { destination[index] = source[index] < 0 ? 0 : source[index] }
    }
}
