/// `ArgMin`: the index of the smallest value along `axis` (ties: first index, or last with
/// `select_last_index`); float32 in, int64 out. See ``ArgumentExtremum``.
package struct ArgMin: Operator {
    package static let opType = "ArgMin"

    package let attributes: ArgumentExtremum

    package init(node: Node, opset: Int) throws {
        attributes = try ArgumentExtremum(node: node)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        try attributes.inferTypes(inputs, opType: Self.opType)
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        try attributes.run(inputs, maximum: false, opType: Self.opType, context: context)
    }
}
