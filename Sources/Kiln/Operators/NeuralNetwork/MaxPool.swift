/// `MaxPool`: the maximum of each window over the spatial axes of `X [N, C, D1...Dn]`; float32, and
/// uint8 / int8 (opset 12) pooled through float32, which holds every 8-bit value exactly.
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
        guard let dtype = inputs.first?.type?.dtype, dtype == .uint8 || dtype == .int8 else {
            return try pooling.inferTypes(inputs, opType: Self.opType, symbols: &symbols)
        }
        var widened = inputs
        widened[0].type?.dtype = .float32
        return try pooling.inferTypes(widened, opType: Self.opType, symbols: &symbols).map { TensorType(dtype, $0.shape) }
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard let input = inputs[0] else { throw OperatorError("input X is required") }
        guard input.dtype == .uint8 || input.dtype == .int8 else {
            return [try pooling.run(input, mode: .maximum, opType: Self.opType, context: context)]
        }
        let widened = try Tensor(shape: input.shape, scalars: input.floats())
        let pooled = try pooling.run(widened, mode: .maximum, opType: Self.opType, context: context)
        // A window of padding only (possible with dilation) gives -infinity: the type's minimum.
        let values = pooled.floats().map { $0.isFinite ? Int($0) : Int.min }
        if input.dtype == .uint8 { return [try Tensor(shape: pooled.shape, scalars: values.map { UInt8(clamping: $0) })] }
        return [try Tensor(shape: pooled.shape, scalars: values.map { Int8(clamping: $0) })]
    }
}
