/// `Sigmoid`: 1 / (1 + e^-x), elementwise (float32, float16), through ``FastMath/sigmoid(_:)``.
package struct Sigmoid: FloatUnaryOperator {
    package static let opType = "Sigmoid"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float { FastMath.sigmoid(x) }

    package func reference(_ x: Float) -> Float { ReferenceMath.sigmoid(x) }
}
