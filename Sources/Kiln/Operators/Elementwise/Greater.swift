/// `Greater`: a > b, elementwise with multidirectional broadcasting, into bool; both inputs of one
/// numeric dtype. Any comparison with NaN is false.
package struct Greater: ComparisonOperator {
    package static let opType = "Greater"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...2)
        try rejectLegacyBroadcastAxis(node)
    }

    @inline(__always)
    package func compare<Scalar: ElementwiseNumeric>(_ a: Scalar, _ b: Scalar) -> Bool { a > b }
}
