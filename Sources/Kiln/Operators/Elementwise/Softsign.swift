/// `Softsign`: x / (1 + |x|), elementwise (float32, float16).
package struct Softsign: FloatUnaryOperator {
    package static let opType = "Softsign"
    package static let cost = Elementwise.Cost.cheap

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float { x / (1 + x.magnitude) }

    package func reference(_ x: Float) -> Float { Float(Double(x) / (1 + Double(x).magnitude)) }
}
