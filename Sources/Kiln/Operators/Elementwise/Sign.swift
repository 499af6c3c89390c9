/// `Sign`: -1, 0 or 1 by the sign of x, elementwise, for every numeric dtype; NaN stays NaN.
package struct Sign: NumericUnaryOperator {
    package static let opType = "Sign"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply<Scalar: ElementwiseNumeric>(_ x: Scalar) -> Scalar { Scalar.sign(x) }
}
