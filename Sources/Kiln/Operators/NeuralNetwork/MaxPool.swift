/// `MaxPool`: the maximum of each window over the spatial axes of `X [N, C, D1...Dn]`; float32.
/// Padding never wins (it counts as -infinity). The optional `Indices` output is not supported.
package struct MaxPool: Operator {
    package static let opType = "MaxPool"

    package let pooling: PoolingAttributes

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1, outputs: 1...2)
        if node.outputs.count == 2 && !node.outputs[1].isEmpty {
            throw OperatorError("the optional Indices output of MaxPool is not supported")
        }
        pooling = try PoolingAttributes(node: node)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        try pooling.inferTypes(inputs, opType: Self.opType, symbols: &symbols)
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard let input = inputs[0] else { throw OperatorError("input X is required") }
        return [try pooling.run(input, mode: .maximum, opType: Self.opType, context: context)]
    }
}
