/// `PRelu`: x for x >= 0, slope * x below, where `slope` broadcasts to x's shape (unidirectional
/// broadcasting: the output has x's shape; a per-channel slope is typically `[C, 1, 1]`). Float32 and
/// float16.
package struct PRelu: Operator {
    package static let opType = "PRelu"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...2)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        let slope = try ShapeInference.requireType(inputs, 1)
        try Elementwise.checkDType(input.dtype, allowed: Elementwise.floatDTypes, operand: "input 0")
        guard slope.dtype == input.dtype else {
            throw OperatorError("slope (input 1) is \(slope.dtype) but input 0 is \(input.dtype); they must match")
        }
        if let inputShape = input.shape, let slopeShape = slope.shape {
            guard slopeShape.count <= inputShape.count else {
                throw OperatorError("slope shape \(slopeShape) has more dims than input shape \(inputShape)")
            }
            let broadcast = try ShapeInference.broadcast([inputShape, slopeShape], symbols: &symbols)
            // The input may be symbolic where the broadcast is fixed; only a fixed mismatch is an error.
            for (axis, dim) in broadcast.enumerated() {
                if case .fixed(let size) = inputShape[axis], case .fixed(let merged) = dim, size != merged {
                    throw OperatorError("slope shape \(slopeShape) does not broadcast to input shape \(inputShape)")
                }
            }
        }
        return [input]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let input = try Elementwise.require(inputs, 0)
        let slope = try Elementwise.require(inputs, 1)
        guard slope.rank <= input.rank, try ShapeInference.broadcast([input.shape, slope.shape]) == input.shape else {
            throw OperatorError("slope shape \(slope.shape) does not broadcast to input shape \(input.shape)")
        }
        switch input.dtype {
        case .float32: return [try Elementwise.binary(Function<Float>(), input, slope, cost: .cheap, context: context)]
        case .float16: return [try Elementwise.binary(Function<Float16>(), input, slope, cost: .expensive, context: context)]
        default: throw OperatorError("input 0 is \(input.dtype); supported: float32, float16")
        }
    }

    struct Function<Scalar: BinaryFloatingPoint & TensorScalar>: BinaryElementwiseFunction {
        @inline(__always) func apply(_ x: Scalar, _ slope: Scalar) -> Scalar { x < 0 ? slope * x : x }
    }
}
