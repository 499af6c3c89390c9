/// `Log`: the natural logarithm, elementwise (float32, float16), through ``FastMath/log(_:)``.
package struct Log: FloatUnaryOperator {
    package static let opType = "Log"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float { FastMath.log(x) }

    package func reference(_ x: Float) -> Float { ReferenceMath.log(x) }
}
