extension OperatorRegistry {
    static let extraOperators: [any Operator.Type] = [
        // Resampling.
        Resize.self,
        Upsample.self,
        // Quantization.
        QuantizeLinear.self,
        DequantizeLinear.self,
        DynamicQuantizeLinear.self,
        MatMulInteger.self,
        QLinearMatMul.self,
        ConvInteger.self,
        QLinearConv.self,
        // Tensor algebra.
        Einsum.self,
        // Float classification.
        IsNaN.self,
        IsInf.self,
    ]
}
