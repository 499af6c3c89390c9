/// `Tanh`: the hyperbolic tangent, elementwise (float32, float16), through ``FastMath/tanh(_:)``.
package struct Tanh: FloatUnaryOperator {
    package static let opType = "Tanh"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float { FastMath.tanh(x) }

    package func reference(_ x: Float) -> Float { ReferenceMath.tanh(x) }
}
