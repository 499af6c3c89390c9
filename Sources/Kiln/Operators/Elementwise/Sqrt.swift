/// `Sqrt`: the square root, elementwise (float32, float16); negative inputs give NaN.
package struct Sqrt: FloatUnaryOperator {
    package static let opType = "Sqrt"
    package static let cost = Elementwise.Cost.cheap

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float {
        // A plain squareRoot() becomes a sqrtf call guarded for errno on negative inputs, which
        // blocks vectorization; with the argument visibly non-negative it is one sqrtps.
        let nonNegative = x < 0 ? 0 : x
        let root = nonNegative.squareRoot()
        return x < 0 ? .nan : root
    }

    package func reference(_ x: Float) -> Float { Float(Double(x).squareRoot()) }
}
