/// `QLinearMatMul`: a quantized numpy `matmul`: `y = saturate(round_half_even((a - a_zero_point) x
/// (b - b_zero_point) * a_scale * b_scale / y_scale) + y_zero_point)`.
///
/// `a`, `b` and `y` are uint8 or int8 (each with a zero point of its type); the scales are float32 or
/// (opset 21) float16, and the combined scale is computed in their precision. `a`'s scale and zero
/// point are per tensor or per row (`[M]`, `[..., M, 1]`), `b`'s per tensor or per column (`[N]`,
/// `[..., 1, N]`); `y`'s are per tensor. The integer product is exact (see
/// ``IntegerMatrixMultiplication``).
package struct QLinearMatMul: Operator {
    package static let opType = "QLinearMatMul"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 8...8)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let types = try (0..<8).map { try ShapeInference.requireType(inputs, $0) }
        try QuantizedMatrixProduct.checkOperand(types[0].dtype, zeroPoint: types[2].dtype, name: "a")
        try QuantizedMatrixProduct.checkOperand(types[3].dtype, zeroPoint: types[5].dtype, name: "b")
        try QuantizedMatrixProduct.checkOperand(types[7].dtype, zeroPoint: nil, name: "y_zero_point")
        try Self.checkScales(types[1].dtype, types[4].dtype, types[6].dtype)
        return [TensorType(types[7].dtype, try QuantizedMatrixProduct.inferShape(types[0].shape, types[3].shape, symbols: &symbols))]
    }

    private static func checkScales(_ a: DType, _ b: DType, _ y: DType) throws {
        guard a.isFloatingPoint, a == b, a == y else {
            throw OperatorError("a_scale, b_scale and y_scale must all be float32 or all float16, got \(a), \(b), \(y)")
        }
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let names = ["a", "a_scale", "a_zero_point", "b", "b_scale", "b_zero_point", "y_scale", "y_zero_point"]
        let tensors = try names.indices.map { try OperatorInput.required(inputs, $0, name: names[$0]) }
        let (a, aScale, aZeroPoint, b, bScale, bZeroPoint, yScale, yZeroPoint) =
            (tensors[0], tensors[1], tensors[2], tensors[3], tensors[4], tensors[5], tensors[6], tensors[7])
        try Self.checkScales(aScale.dtype, bScale.dtype, yScale.dtype)
        try QuantizedMatrixProduct.checkOperand(yZeroPoint.dtype, zeroPoint: nil, name: "y_zero_point")
        guard aScale.shape == aZeroPoint.shape, bScale.shape == bZeroPoint.shape, yScale.shape == yZeroPoint.shape else {
            throw OperatorError("each scale must have its zero point's shape: a \(aScale.shape)/\(aZeroPoint.shape), b \(bScale.shape)/\(bZeroPoint.shape), y \(yScale.shape)/\(yZeroPoint.shape)")
        }
        guard yScale.count == 1 else { throw OperatorError("y_scale must hold one value, has shape \(yScale.shape)") }
        let product = try QuantizedMatrixProduct.exactProduct(a, zeroPoint: aZeroPoint, b, zeroPoint: bZeroPoint)
        let aScaleShape = QuantizedMatrixProduct.rowParameterShape(aScale.shape, operand: a.shape)
        try QuantizedMatrixProduct.checkBroadcast(aScaleShape, to: product.shape, what: "a_scale")
        try QuantizedMatrixProduct.checkBroadcast(bScale.shape, to: product.shape, what: "b_scale")
        let multipliers = Requantization.multipliers(
            outputShape: product.shape, scales: [(aScale, aScaleShape), (bScale, bScale.shape)], divisor: yScale)
        let output = try Requantization.saturate(product.values, multipliers: multipliers, shape: product.shape,
                                                 zeroPoint: yZeroPoint.floats()[0], dtype: yZeroPoint.dtype)
        return [output]
    }
}

/// Turning exact integer accumulations back into 8-bit values: `saturate(round_half_even(acc * m) + z)`.
package enum Requantization {
    /// One multiplier per output element: the product of the (broadcast) scales divided by
    /// `divisor`, rounded after each step to the scales' precision (float16 scales compute in
    /// float16), as the ONNX reference does. A single value when every scale is per tensor.
    package static func multipliers(outputShape: [Int], scales: [(tensor: Tensor, shape: [Int])], divisor: Tensor) -> [Float] {
        let half = divisor.dtype == .float16
        func rounded(_ value: Float) -> Float { half ? Float(Float16(value)) : value }
        let values = scales.map { $0.tensor.floats() }
        let divisorValue = divisor.floats()[0]
        let perTensor = values.allSatisfy { $0.count == 1 }
        let count = perTensor ? 1 : outputShape.reduce(1, *)
        return (0..<count).map { index in
            var product: Float = 1
            for (position, scale) in scales.enumerated() {
                let source = values[position].count == 1 ? 0
                    : BroadcastKernel.sourceIndex(index, outputShape: outputShape, operandShape: scale.shape)
                product = position == 0 ? values[position][source] : rounded(product * values[position][source])
            }
            return rounded(product / divisorValue)
        }
    }

    /// The requantized tensor of `dtype` (uint8 or int8). `multipliers` holds one value, or one
    /// per element.
    package static func saturate(_ accumulations: [Double], multipliers: [Float], shape: [Int], zeroPoint: Float,
                                 dtype: DType) throws -> Tensor {
        let (lowest, highest) = QuantizedType.range(dtype)
        let stride = multipliers.count == 1 ? 0 : 1
        let output = try Tensor.uninitialized(dtype, shape: shape)
        func fill<Q: FixedWidthInteger>(_ type: Q.Type) {
            output.withUnsafeMutablePointer(as: Q.self) { y in
                for index in accumulations.indices {
                    let scaled = accumulations[index] * Double(multipliers[index * stride]) + Double(zeroPoint)
                    let value = scaled.rounded(.toNearestOrEven)
                    y[index] = Q(value.isNaN ? Double(lowest) : min(max(value, Double(lowest)), Double(highest)))
                }
            }
        }
        if dtype == .int8 { fill(Int8.self) } else { fill(UInt8.self) }
        return output
    }
}
