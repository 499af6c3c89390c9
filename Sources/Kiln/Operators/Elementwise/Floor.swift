/// `Floor`: rounds down to an integer, elementwise (float32, float16).
package struct Floor: FloatUnaryOperator {
    package static let opType = "Floor"
    package static let cost = Elementwise.Cost.cheap

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float { x.rounded(.down) }

    package func reference(_ x: Float) -> Float { Float(Double(x).rounded(.down)) }
}
