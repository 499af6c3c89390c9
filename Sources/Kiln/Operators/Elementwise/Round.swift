/// `Round`: rounds to the nearest integer, halves to even (2.5 -> 2), elementwise (float32, float16).
package struct Round: FloatUnaryOperator {
    package static let opType = "Round"
    package static let cost = Elementwise.Cost.cheap

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float { x.rounded(.toNearestOrEven) }

    package func reference(_ x: Float) -> Float { Float(Double(x).rounded(.toNearestOrEven)) }
}
