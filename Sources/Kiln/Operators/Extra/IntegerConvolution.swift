/// The attributes, shape checks and exact evaluation shared by `ConvInteger` and `QLinearConv`:
/// an N-D convolution of zero-point-centred uint8/int8 input and weights, accumulated exactly
/// (see ``IntegerMatrixMultiplication``): im2col of the centred input (padding reads 0, i.e. the
/// zero point), then one `cblas_dgemm` per image and group.
///
/// The input's zero point is per tensor; the weights' is per tensor or one per output channel.
package struct IntegerConvolution: Sendable {
    package let window: SlidingWindowAttributes
    package let groups: Int

    package init(node: Node) throws {
        window = try SlidingWindowAttributes(node: node)
        groups = try node.int("group", default: 1)
        guard groups >= 1 else { throw OperatorError("group must be at least 1, got \(groups)") }
    }

    /// Output type `[N, M, spatial...]` for input `x` and weights `w`.
    package func inferShape(input: [Dim]?, weights: [Dim]?, symbols: inout SymbolGenerator) throws -> [Dim]? {
        guard let input, let weights else {
            guard let rank = input?.count ?? weights?.count else { return nil }
            return (0..<rank).map { _ in symbols.fresh() }
        }
        guard input.count >= 3, weights.count == input.count else {
            throw OperatorError("x must have rank >= 3 and w the same rank, got shapes \(input.map(\.description)) and \(weights.map(\.description))")
        }
        try window.checkSpatialRank(input.count - 2)
        let kernel = window.kernelShape ?? weights[2...].compactMap(\.value)
        guard kernel.count == input.count - 2 else { return [input[0], weights[0]] + input[2...].map { _ in symbols.fresh() } }
        let spatial = try window.forwardOutputDims(input: Array(input[2...]), kernel: kernel, ceilMode: false, symbols: &symbols)
        return [input[0], weights[0]] + spatial
    }

    /// The exact convolution of `(x - xZeroPoint)` with `(w - wZeroPoint)`, `[N, M, spatial...]`.
    package func accumulate(_ x: Tensor, zeroPoint xZeroPoint: Tensor?, _ w: Tensor, zeroPoint wZeroPoint: Tensor?,
                            context: ExecutionContext) throws -> (values: [Double], shape: [Int]) {
        try QuantizedMatrixProduct.checkOperand(x.dtype, zeroPoint: xZeroPoint?.dtype, name: "x")
        try QuantizedMatrixProduct.checkOperand(w.dtype, zeroPoint: wZeroPoint?.dtype, name: "w")
        guard x.rank >= 3, w.rank == x.rank else {
            throw OperatorError("x must have rank >= 3 and w the same rank, got shapes \(x.shape) and \(w.shape)")
        }
        try window.checkSpatialRank(x.rank - 2)
        let batch = x.shape[0], channels = x.shape[1], outputChannels = w.shape[0]
        guard channels % groups == 0, outputChannels % groups == 0, w.shape[1] * groups == channels else {
            throw OperatorError("x has \(channels) channels and w shape \(w.shape) with group \(groups): channels must split evenly into groups of w.shape[1]")
        }
        let kernel = Array(w.shape[2...])
        if let declared = window.kernelShape, declared != kernel {
            throw OperatorError("kernel_shape \(declared) does not match w's spatial dims \(kernel)")
        }
        if let xZeroPoint, xZeroPoint.count != 1 {
            throw OperatorError("x_zero_point must hold one value, has shape \(xZeroPoint.shape)")
        }
        let wZeroShape: [Int]
        if let wZeroPoint, wZeroPoint.count != 1 {
            guard wZeroPoint.shape == [outputChannels] else {
                throw OperatorError("w_zero_point must hold one value or one per output channel (\(outputChannels)), has shape \(wZeroPoint.shape)")
            }
            wZeroShape = [outputChannels] + [Int](repeating: 1, count: w.rank - 1)
        } else {
            wZeroShape = []
        }
        let geometry = try window.forwardGeometry(inputSize: Array(x.shape[2...]), kernel: kernel, ceilMode: false)
        let shape = [batch, outputChannels] + geometry.outputSize
        var result = [Double](repeating: 0, count: try IndexValues.elementCount(shape))
        guard !result.isEmpty else { return (result, shape) }

        let xOffset = xZeroPoint?.floats()[0] ?? 0
        let input = x.floats().map { $0 - xOffset }
        let weights = IntegerMatrixMultiplication.centered(w, zeroPoint: wZeroPoint, zeroPointShape: wZeroShape)
        let inputVolume = geometry.inputVolume, outputVolume = geometry.outputVolume
        let channelsPerGroup = channels / groups, outputsPerGroup = outputChannels / groups
        let columnRows = channelsPerGroup * geometry.kernelVolume
        let floatColumns = try KernelScratch.allocateFloats(rows: columnRows, columns: outputVolume, purpose: "im2col")
        defer { floatColumns.deallocate() }
        let columns = UnsafeMutablePointer<Double>.allocate(capacity: max(1, columnRows * outputVolume))
        defer { columns.deallocate() }

        try input.withUnsafeBufferPointer { source in
            try weights.withUnsafeBufferPointer { filter in
                try result.withUnsafeMutableBufferPointer { output in
                    for image in 0..<batch {
                        for group in 0..<groups {
                            let groupInput = source.baseAddress! + (image * channels + group * channelsPerGroup) * inputVolume
                            context.parallelFor(columnRows, minimumChunk: max(1, 16_384 / outputVolume)) { rows in
                                ConvolutionKernels.im2col(groupInput, geometry: geometry, rows: rows, into: floatColumns)
                                for index in (rows.lowerBound * outputVolume)..<(rows.upperBound * outputVolume) {
                                    columns[index] = Double(floatColumns[index])
                                }
                            }
                            try IntegerMatrixMultiplication.multiply(
                                m: outputsPerGroup, n: outputVolume, k: columnRows,
                                a: filter.baseAddress! + group * outputsPerGroup * columnRows, lda: columnRows,
                                b: columns, ldb: outputVolume,
                                c: output.baseAddress! + (image * outputChannels + group * outputsPerGroup) * outputVolume,
                                ldc: outputVolume)
                        }
                    }
                }
            }
        }
        return (result, shape)
    }
}
