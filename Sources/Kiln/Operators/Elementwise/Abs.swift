/// `Abs`: |x|, elementwise, for every numeric dtype (the most negative integer wraps to itself).
package struct Abs: NumericUnaryOperator {
    package static let opType = "Abs"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply<Scalar: ElementwiseNumeric>(_ x: Scalar) -> Scalar { Scalar.absolute(x) }
}
