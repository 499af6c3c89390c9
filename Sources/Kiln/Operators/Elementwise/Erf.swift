/// `Erf`: the error function, elementwise (float32, float16), through ``FastMath/erf(_:)``.
package struct Erf: FloatUnaryOperator {
    package static let opType = "Erf"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float { FastMath.erf(x) }

    package func reference(_ x: Float) -> Float { ReferenceMath.erf(x) }
}
