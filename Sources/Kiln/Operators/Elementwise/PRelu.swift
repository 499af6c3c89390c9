/// `PRelu`: x for x >= 0, slope * x below, where `slope` broadcasts to x's shape (unidirectional
/// broadcasting: the output has x's shape; a per-channel slope is typically `[C, 1, 1]`). Every
/// numeric dtype (ONNX lists floats and 32/64-bit integers); x and slope share it.
package struct PRelu: Operator, NumericBinaryOperation {
    package static let opType = "PRelu"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...2)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        let slope = try ShapeInference.requireType(inputs, 1)
        try Elementwise.checkDType(input.dtype, allowed: Elementwise.numericDTypes, operand: "input 0")
        guard slope.dtype == input.dtype else {
            throw OperatorError("slope (input 1) is \(slope.dtype) but input 0 is \(input.dtype); they must match")
        }
        if let inputShape = input.shape, let slopeShape = slope.shape {
            guard slopeShape.count <= inputShape.count else {
                throw OperatorError("slope shape \(slopeShape) has more dims than input shape \(inputShape)")
            }
            let mismatch = OperatorError("slope shape \(slopeShape) does not broadcast to input shape \(inputShape)")
            guard let broadcast = try? ShapeInference.broadcast([inputShape, slopeShape], symbols: &symbols) else {
                throw mismatch
            }
            // The input may be symbolic where the broadcast is fixed; only a fixed mismatch is an error.
            for (axis, dim) in broadcast.enumerated() {
                if case .fixed(let size) = inputShape[axis], case .fixed(let merged) = dim, size != merged {
                    throw mismatch
                }
            }
        }
        return [input]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let input = try Elementwise.require(inputs, 0)
        let slope = try Elementwise.require(inputs, 1)
        guard slope.rank <= input.rank, (try? ShapeInference.broadcast([input.shape, slope.shape])) == input.shape else {
            throw OperatorError("slope shape \(slope.shape) does not broadcast to input shape \(input.shape)")
        }
        return [try Elementwise.numericBinary(self, input, slope, context: context)]
    }

    @inline(__always)
    package func apply<Scalar: ElementwiseNumeric>(_ x: Scalar, _ slope: Scalar) -> Scalar {
        x < Scalar.zero ? Scalar.multiply(slope, x) : x
    }
}
