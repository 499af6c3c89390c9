/// `GlobalAveragePool`: the mean of each channel plane; float32.
package struct GlobalAveragePool: Operator {
    package static let opType = "GlobalAveragePool"

    /// Whether X is channels-last (see ``GlobalPooling``).
    package let channelsLast: Bool

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
        channelsLast = try GlobalPooling.channelsLast(node)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        try GlobalPooling.inferTypes(inputs, opType: Self.opType, channelsLast: channelsLast)
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        try GlobalPooling.run(inputs, kind: .mean, opType: Self.opType, channelsLast: channelsLast, context: context)
    }
}
