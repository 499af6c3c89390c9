extension OperatorRegistry {
    static let neuralNetworkOperators: [any Operator.Type] = [
        // Matrix products.
        MatMul.self,
        Gemm.self,
        // Kiln-internal fusions (FuseAttentionPass, FuseConcatConvolutionsPass).
        KilnAttention.self,
        KilnConcatConvolutions.self,
        // Convolution and pooling.
        Conv.self,
        ConvTranspose.self,
        MaxPool.self,
        AveragePool.self,
        GlobalAveragePool.self,
        GlobalMaxPool.self,
        // Normalization.
        BatchNormalization.self,
        LayerNormalization.self,
        InstanceNormalization.self,
        LRN.self,
        Softmax.self,
        LogSoftmax.self,
        // Reductions.
        ReduceSum.self,
        ReduceMean.self,
        ReduceMax.self,
        ReduceMin.self,
        ReduceProd.self,
        ReduceL1.self,
        ReduceL2.self,
        ReduceSumSquare.self,
        ReduceLogSum.self,
        ReduceLogSumExp.self,
        ArgMax.self,
        ArgMin.self,
    ]
}
