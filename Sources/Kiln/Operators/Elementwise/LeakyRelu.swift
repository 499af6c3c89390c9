/// `LeakyRelu`: x for x >= 0, alpha * x below (alpha defaults to 0.01). Float32 and float16.
package struct LeakyRelu: FloatUnaryOperator {
    package static let opType = "LeakyRelu"
    package static let cost = Elementwise.Cost.cheap

    package let alpha: Float

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
        alpha = try node.float("alpha", default: 0.01)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float { x < 0 ? alpha * x : x }

    package func reference(_ x: Float) -> Float { x < 0 ? Float(Double(alpha) * Double(x)) : x }
}
