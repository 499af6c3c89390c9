/// `Softplus`: log(e^x + 1), computed as max(x, 0) + log1p(e^-|x|) so it neither overflows for
/// large x nor loses the tiny result for very negative x. Float32 and float16.
package struct Softplus: FloatUnaryOperator {
    package static let opType = "Softplus"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float {
        (x > 0 ? x : 0) + FastMath.log1p(FastMath.exp(-x.magnitude))
    }

    package func reference(_ x: Float) -> Float {
        (x > 0 ? x : 0) + ReferenceMath.log1p(ReferenceMath.exp(-x.magnitude))
    }
}
