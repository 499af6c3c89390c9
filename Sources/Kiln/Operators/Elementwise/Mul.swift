/// `Mul`: a * b, elementwise with multidirectional broadcasting, for every numeric
/// dtype (integers wrap on overflow).
package struct Mul: NumericBinaryOperator {
    package static let opType = "Mul"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...2)
        try rejectLegacyBroadcastAxis(node)
    }

    @inline(__always)
    package func apply<Scalar: ElementwiseNumeric>(_ a: Scalar, _ b: Scalar) -> Scalar { Scalar.multiply(a, b) }
}
