/// `Ceil`: rounds up to an integer, elementwise (float32, float16).
package struct Ceil: FloatUnaryOperator {
    package static let opType = "Ceil"
    package static let cost = Elementwise.Cost.cheap

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float { x.rounded(.up) }

    package func reference(_ x: Float) -> Float { Float(Double(x).rounded(.up)) }
}
