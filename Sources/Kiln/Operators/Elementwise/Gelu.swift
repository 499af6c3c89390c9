/// `Gelu` (opset 20): x/2 (1 + erf(x / sqrt 2)), or with `approximate = "tanh"` the tanh form
/// x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). Float32 and float16.
package struct Gelu: FloatUnaryOperator {
    package static let opType = "Gelu"

    /// The `approximate` attribute.
    package enum Approximation: String, Sendable {
        case none
        case tanh
    }

    package let approximation: Approximation

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
        let name = try node.string("approximate", default: "none")
        guard let approximation = Approximation(rawValue: name) else {
            throw OperatorError("attribute 'approximate' must be \"none\" or \"tanh\", got \"\(name)\"")
        }
        self.approximation = approximation
    }

    package init(approximation: Approximation) {
        self.approximation = approximation
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float {
        approximation == .tanh ? FastMath.geluTanh(x) : FastMath.gelu(x)
    }

    package func reference(_ x: Float) -> Float {
        approximation == .tanh ? ReferenceMath.geluTanh(x) : ReferenceMath.gelu(x)
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        // One loop per form, so neither carries the other's work or a per-element branch.
        let input = try Elementwise.require(inputs, 0)
        switch approximation {
        case .none: return [try Elementwise.floatUnary(ExactForm(), input, cost: Gelu.cost, context: context)]
        case .tanh: return [try Elementwise.floatUnary(TanhForm(), input, cost: Gelu.cost, context: context)]
        }
    }

    struct ExactForm: UnaryElementwiseFunction {
        @inline(__always) func apply(_ x: Float) -> Float { FastMath.gelu(x) }
    }

    struct TanhForm: UnaryElementwiseFunction {
        @inline(__always) func apply(_ x: Float) -> Float { FastMath.geluTanh(x) }
    }
}
