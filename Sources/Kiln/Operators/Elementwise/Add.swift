/// `Add`: a + b, elementwise with multidirectional broadcasting, for every numeric
/// dtype (integers wrap on overflow).
package struct Add: NumericBinaryOperator {
    package static let opType = "Add"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...2)
        try rejectLegacyBroadcastAxis(node)
    }

    @inline(__always)
    package func apply<Scalar: ElementwiseNumeric>(_ a: Scalar, _ b: Scalar) -> Scalar { Scalar.add(a, b) }
}
