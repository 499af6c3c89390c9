/// `MaxPool`: the maximum of each window over the spatial axes of `X [N, C, D1...Dn]`; float32, and
/// uint8 / int8 (opset 12) pooled through float32, which holds every 8-bit value exactly.
/// Padding never wins (it counts as -infinity). The optional `Indices` output is not supported.
///
/// With the Kiln-internal attribute `kiln_channels_last = 1` (set by ``ChannelsLastPass`` inside a
/// channels-last chain), X and Y are float32 `[N, H, W, C]` and the window 2-D
/// (``MaxPoolChannelsLast``).
package struct MaxPool: Operator {
    package static let opType = "MaxPool"

    package let pooling: PoolingAttributes
    package let channelsLast: Bool

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1, outputs: 1...2)
        if node.outputs.count == 2 && !node.outputs[1].isEmpty {
            throw OperatorError("the optional Indices output of MaxPool is not supported")
        }
        pooling = try PoolingAttributes(node: node)
        channelsLast = try GlobalPooling.channelsLast(node)
        if channelsLast && pooling.kernel.count != 2 {
            throw OperatorError("a channels-last MaxPool needs a 2-D window, not kernel_shape \(pooling.kernel)")
        }
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        if channelsLast {
            // The NCHW shape rule on the shape moved to NCHW, and the result moved back.
            var moved = inputs
            if let shape = moved.first?.type?.shape, shape.count == 4 {
                moved[0].type?.shape = [shape[0], shape[3], shape[1], shape[2]]
            }
            return try pooling.inferTypes(moved, opType: Self.opType, symbols: &symbols).map { type in
                guard let shape = type.shape, shape.count == 4 else { return type }
                return TensorType(type.dtype, [shape[0], shape[2], shape[3], shape[1]])
            }
        }
        guard let dtype = inputs.first?.type?.dtype, dtype == .uint8 || dtype == .int8 else {
            return try pooling.inferTypes(inputs, opType: Self.opType, symbols: &symbols)
        }
        var widened = inputs
        widened[0].type?.dtype = .float32
        return try pooling.inferTypes(widened, opType: Self.opType, symbols: &symbols).map { TensorType(dtype, $0.shape) }
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard let input = inputs[0] else { throw OperatorError("input X is required") }
        if channelsLast { return [try runChannelsLast(input, context: context)] }
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

    private func runChannelsLast(_ input: Tensor, context: ExecutionContext) throws -> Tensor {
        guard input.dtype == .float32, input.rank == 4 else {
            throw OperatorError("a channels-last MaxPool takes float32 [N, H, W, C], got \(input.dtype) \(input.shape)")
        }
        let batch = input.shape[0], channels = input.shape[3]
        let geometry = try pooling.window.forwardGeometry(inputSize: [input.shape[1], input.shape[2]],
                                                          kernel: pooling.kernel, ceilMode: pooling.ceilMode)
        let output = try Tensor.uninitialized(.float32, shape: [batch] + geometry.outputSize + [channels])
        guard output.count > 0 else { return output }
        input.withUnsafePointer(as: Float.self) { x in
            output.withUnsafeMutablePointer(as: Float.self) { y in
                MaxPoolChannelsLast.pool(x, output: y, batch: batch, channels: channels, geometry: geometry,
                                         context: context)
            }
        }
        return output
    }
}
