/// `And`: logical and of two bool tensors, elementwise with multidirectional broadcasting.
package struct And: Operator, BinaryElementwiseFunction {
    package static let opType = "And"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...2)
        try rejectLegacyBroadcastAxis(node)
    }

    @inline(__always)
    package func apply(_ a: Bool, _ b: Bool) -> Bool { a && b }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        [try Elementwise.inferBroadcast(inputs, allowed: [.bool], symbols: &symbols)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        [try Elementwise.binary(self, Elementwise.require(inputs, 0), Elementwise.require(inputs, 1), cost: .cheap,
                                context: context)]
    }
}
