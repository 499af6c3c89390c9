/// `Sqrt`: the square root, elementwise (float32, float16); negative inputs give NaN.
package struct Sqrt: FloatUnaryOperator {
    package static let opType = "Sqrt"
    package static let cost = Elementwise.Cost.cheap

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float { x.squareRoot() }

    package func reference(_ x: Float) -> Float { Float(Double(x).squareRoot()) }
}
