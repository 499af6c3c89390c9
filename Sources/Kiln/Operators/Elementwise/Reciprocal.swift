/// `Reciprocal`: 1 / x, elementwise (float32, float16).
package struct Reciprocal: FloatUnaryOperator {
    package static let opType = "Reciprocal"
    package static let cost = Elementwise.Cost.cheap

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float { 1 / x }

    package func reference(_ x: Float) -> Float { Float(1 / Double(x)) }
}
