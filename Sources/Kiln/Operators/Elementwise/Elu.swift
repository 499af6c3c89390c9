/// `Elu`: x for x >= 0, alpha (e^x - 1) below (alpha defaults to 1). Float32 and float16.
package struct Elu: FloatUnaryOperator {
    package static let opType = "Elu"

    package let alpha: Float

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
        alpha = try node.float("alpha", default: 1)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float { x < 0 ? alpha * FastMath.expm1(x) : x }

    package func reference(_ x: Float) -> Float { x < 0 ? alpha * ReferenceMath.expm1(x) : x }
}
