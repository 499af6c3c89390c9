/// `Exp`: e^x, elementwise (float32, float16), through the vectorizable ``FastMath/exp(_:)``.
package struct Exp: FloatUnaryOperator {
    package static let opType = "Exp"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float { FastMath.exp(x) }

    package func reference(_ x: Float) -> Float { ReferenceMath.exp(x) }
}
