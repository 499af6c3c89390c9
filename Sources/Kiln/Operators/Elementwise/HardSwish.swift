/// `HardSwish`: x * max(0, min(1, x / 6 + 1/2)). Float32 and float16.
package struct HardSwish: FloatUnaryOperator {
    package static let opType = "HardSwish"
    package static let cost = Elementwise.Cost.cheap

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float {
        // (x + 3) / 6 rather than x / 6 + 1/2: near x = -3 the sum is exact, where the spec's form
        // would cancel the rounding error of x / 6 into a large relative error.
        let gate = (x + 3) * (1 / 6 as Float)
        return x * (gate < 0 ? 0 : (gate > 1 ? 1 : gate))
    }

    package func reference(_ x: Float) -> Float {
        let gate = Double(x) / 6 + 0.5
        if gate.isNaN { return x }
        return Float(Double(x) * Swift.max(0, Swift.min(1, gate)))
    }
}
