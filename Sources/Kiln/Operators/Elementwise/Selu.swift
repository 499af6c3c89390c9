/// `Selu`: gamma * x for x > 0, gamma * alpha (e^x - 1) otherwise, with the self-normalizing
/// defaults alpha = 1.67326..., gamma = 1.05070.... Float32 and float16.
package struct Selu: FloatUnaryOperator {
    package static let opType = "Selu"

    package let alpha: Float
    package let gamma: Float

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
        alpha = try node.float("alpha", default: 1.67326319217681884765625)
        gamma = try node.float("gamma", default: 1.05070102214813232421875)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float { x > 0 ? gamma * x : gamma * (alpha * FastMath.expm1(x)) }

    package func reference(_ x: Float) -> Float { x > 0 ? gamma * x : gamma * (alpha * ReferenceMath.expm1(x)) }
}
