/// `AveragePool`: the mean of each window over the spatial axes of `X [N, C, D1...Dn]`; float32.
/// With `count_include_pad` the divisor counts padding positions (up to the explicit end pads),
/// otherwise only input positions.
package struct AveragePool: Operator {
    package static let opType = "AveragePool"

    package let pooling: PoolingAttributes
    package let countIncludePad: Bool

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
        pooling = try PoolingAttributes(node: node)
        countIncludePad = try node.int("count_include_pad", default: 0) != 0
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        try pooling.inferTypes(inputs, opType: Self.opType, symbols: &symbols)
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard let input = inputs[0] else { throw OperatorError("input X is required") }
        return [try pooling.run(input, mode: .average(countIncludePad: countIncludePad), opType: Self.opType,
                                context: context)]
    }
}
