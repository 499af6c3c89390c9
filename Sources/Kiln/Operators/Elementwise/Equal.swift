/// `Equal`: a == b, elementwise with multidirectional broadcasting, into bool; both inputs of one
/// dtype, numeric or bool. NaN equals nothing, itself included.
package struct Equal: ComparisonOperator {
    package static let opType = "Equal"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...2)
        try rejectLegacyBroadcastAxis(node)
    }

    @inline(__always)
    package func compare<Scalar: ElementwiseNumeric>(_ a: Scalar, _ b: Scalar) -> Bool { a == b }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        [try Elementwise.inferBroadcast(inputs, allowed: Elementwise.numericDTypes + [.bool], output: .bool,
                                        symbols: &symbols)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let left = try Elementwise.require(inputs, 0)
        let right = try Elementwise.require(inputs, 1)
        if left.dtype == .bool, right.dtype == .bool {
            return [try Elementwise.binary(BoolEqual(), left, right, cost: .cheap, context: context)]
        }
        return [try Elementwise.comparison(self, left, right, context: context)]
    }

    struct BoolEqual: BinaryElementwiseFunction {
        @inline(__always) func apply(_ a: Bool, _ b: Bool) -> Bool { a == b }
    }
}
