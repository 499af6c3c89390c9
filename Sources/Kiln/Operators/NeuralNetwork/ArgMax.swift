/// `ArgMax`: the index of the largest value along `axis` (ties: first index, or last with
/// `select_last_index`); float32 in, int64 out. See ``ArgumentExtremum``.
package struct ArgMax: Operator {
    package static let opType = "ArgMax"

    package let attributes: ArgumentExtremum

    package init(node: Node, opset: Int) throws {
        attributes = try ArgumentExtremum(node: node)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        try attributes.inferTypes(inputs, opType: Self.opType)
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        try attributes.run(inputs, maximum: true, opType: Self.opType, context: context)
    }
}
