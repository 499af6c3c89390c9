/// `QLinearConv`: a quantized `Conv`: `y = saturate(round_half_even((conv(x - x_zero_point,
/// w - w_zero_point) + B) * x_scale * w_scale / y_scale) + y_zero_point)`.
///
/// `x`, `w` and `y` are uint8 or int8 with float32 scales; `w_scale` and `w_zero_point` may hold one
/// value per output channel, the others one value. The optional int32 bias `B` is added to the
/// exact accumulation. Attributes as `Conv`.
package struct QLinearConv: Operator {
    package static let opType = "QLinearConv"

    package let convolution: IntegerConvolution

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 8...9)
        convolution = try IntegerConvolution(node: node)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let types = try (0..<8).map { try ShapeInference.requireType(inputs, $0) }
        try QuantizedMatrixProduct.checkOperand(types[0].dtype, zeroPoint: types[2].dtype, name: "x")
        try QuantizedMatrixProduct.checkOperand(types[3].dtype, zeroPoint: types[5].dtype, name: "w")
        try QuantizedMatrixProduct.checkOperand(types[7].dtype, zeroPoint: nil, name: "y_zero_point")
        for index in [1, 4, 6] where types[index].dtype != .float32 {
            throw OperatorError("scales must be float32, input \(index) is \(types[index].dtype)")
        }
        if OperatorInput.isPresent(inputs, 8), let bias = inputs[8].type, bias.dtype != .int32 {
            throw OperatorError("B must be int32, got \(bias.dtype)")
        }
        return [TensorType(types[7].dtype, try convolution.inferShape(input: types[0].shape, weights: types[3].shape, symbols: &symbols))]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let names = ["x", "x_scale", "x_zero_point", "w", "w_scale", "w_zero_point", "y_scale", "y_zero_point"]
        let tensors = try names.indices.map { try OperatorInput.required(inputs, $0, name: names[$0]) }
        let (x, xScale, xZeroPoint, w, wScale, wZeroPoint, yScale, yZeroPoint) =
            (tensors[0], tensors[1], tensors[2], tensors[3], tensors[4], tensors[5], tensors[6], tensors[7])
        for (name, scale) in [("x_scale", xScale), ("w_scale", wScale), ("y_scale", yScale)] where scale.dtype != .float32 {
            throw OperatorError("\(name) must be float32, got \(scale.dtype)")
        }
        try QuantizedMatrixProduct.checkOperand(yZeroPoint.dtype, zeroPoint: nil, name: "y_zero_point")
        guard xScale.count == 1, yScale.count == 1, yZeroPoint.count == 1 else {
            throw OperatorError("x_scale, y_scale and y_zero_point must hold one value each, have shapes \(xScale.shape), \(yScale.shape), \(yZeroPoint.shape)")
        }
        var result = try convolution.accumulate(x, zeroPoint: xZeroPoint, w, zeroPoint: wZeroPoint, context: context)
        let outputChannels = w.shape[0]
        guard wScale.count == 1 || wScale.shape == [outputChannels] else {
            throw OperatorError("w_scale must hold one value or one per output channel (\(outputChannels)), has shape \(wScale.shape)")
        }
        let planeSize = result.shape[2...].reduce(1, *)
        if let bias = OperatorInput.optional(inputs, 8) {
            guard bias.dtype == .int32, bias.shape == [outputChannels] else {
                throw OperatorError("B must be int32 with one value per output channel (\(outputChannels)), got \(bias.dtype) \(bias.shape)")
            }
            let offsets = try bias.scalars(as: Int32.self)
            for index in result.values.indices { result.values[index] += Double(offsets[(index / planeSize) % outputChannels]) }
        }
        // One multiplier per output channel, repeated over each plane.
        let channelShape = [1, outputChannels] + [Int](repeating: 1, count: result.shape.count - 2)
        let multipliers = Requantization.multipliers(
            outputShape: result.shape, scales: [(xScale, []), (wScale, wScale.count == 1 ? [] : channelShape)], divisor: yScale)
        return [try Requantization.saturate(result.values, multipliers: multipliers, shape: result.shape,
                                            zeroPoint: yZeroPoint.floats()[0], dtype: yZeroPoint.dtype)]
    }
}
