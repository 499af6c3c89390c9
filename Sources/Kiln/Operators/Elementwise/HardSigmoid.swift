/// `HardSigmoid`: max(0, min(1, alpha * x + beta)), alpha 0.2 and beta 0.5 by default. Float32 and
/// float16; NaN stays NaN.
package struct HardSigmoid: FloatUnaryOperator {
    package static let opType = "HardSigmoid"
    package static let cost = Elementwise.Cost.cheap

    package let alpha: Float
    package let beta: Float

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
        alpha = try node.float("alpha", default: 0.2)
        beta = try node.float("beta", default: 0.5)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float {
        let linear = alpha * x + beta
        return linear < 0 ? 0 : (linear > 1 ? 1 : linear)
    }

    package func reference(_ x: Float) -> Float {
        let linear = alpha * x + beta
        if linear.isNaN { return linear }
        return Swift.max(0, Swift.min(1, linear))
    }
}
