/// Depthwise 3x3 convolution (stride 1 or 2, dilation 1, any padding) of channels-last data
/// (`[batch, height, width, channels]`), with bias and activation fused.
///
/// Channels-last puts a pixel's channels side by side, so four channels are one `SIMD4` load and
/// an output position of four channels is 9 vector multiply-adds with per-lane weights. The NCHW
/// kernels get the same arithmetic only after transposing four planes into this form and back for
/// every group (``DepthwiseChannelGroups``), which cost MobileNetV2 as much as the arithmetic on its
/// 7x7 and 14x14 layers. Here one block of four channels walks a whole output row with its 9 weight
/// vectors, bias and clamp bounds held in registers; the three input rows it reads (at most a few
/// hundred KB) stay in L2 while the row's other blocks follow, and each 64-byte line serves four
/// blocks in a row from L1. Rows above or below the input read a zero row; the one or two output
/// columns whose taps reach into the left or right padding take a bounds-checked path.
package enum DepthwiseChannelsLast {
    /// Whether ``convolve3x3`` handles this geometry (the same as the NCHW kernel's).
    package static func applies(_ geometry: SlidingWindowGeometry) -> Bool {
        DepthwiseKernels.applies3x3(geometry)
    }

    /// Floats ``packWeights`` writes: 36 per block of four channels (channels left over are read
    /// from the unpacked weights).
    package static func packedWeightFloats(channels: Int) -> Int { channels / 4 * 36 }

    /// Packs W `[channels, 1, 3, 3]` into `[channels / 4][tap][lane]`: tap `t` of a block is then one
    /// vector whose lane `k` is channel `4 * block + k`'s weight.
    package static func packWeights(_ weights: UnsafePointer<Float>, channels: Int,
                                    into packed: UnsafeMutablePointer<Float>) {
        for block in 0..<channels / 4 {
            for tap in 0..<9 {
                for lane in 0..<4 { packed[(block * 9 + tap) * 4 + lane] = weights[(block * 4 + lane) * 9 + tap] }
            }
        }
    }

    /// `output = activation(bias + depthwise 3x3 convolution of input)` for the output rows in
    /// `rows` (flattened `image * outputHeight + outputRow`).
    /// - Parameters:
    ///   - packedWeights: ``packWeights(_:channels:into:)`` of `weights`.
    ///   - weights: W `[channels, 1, 3, 3]` as stored (for the channels after the last block of four).
    ///   - zeroRow: `inputWidth * channels` zeros, read for rows in the vertical padding.
    package static func convolve3x3(_ input: UnsafePointer<Float>, packedWeights: UnsafePointer<Float>,
                                    weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, channels: Int,
                                    geometry: SlidingWindowGeometry, activation: FusedActivation?,
                                    zeroRow: UnsafePointer<Float>, rows: Range<Int>,
                                    output: UnsafeMutablePointer<Float>) {
        let inputHeight = geometry.inputSize[0], inputWidth = geometry.inputSize[1]
        let outputHeight = geometry.outputSize[0], outputWidth = geometry.outputSize[1]
        guard outputHeight > 0, outputWidth > 0, channels > 0 else { return }
        let stride = geometry.strides[0]
        let padTop = geometry.padsBegin[0], padLeft = geometry.padsBegin[1]
        let pixel = channels, inputRowFloats = inputWidth * channels, outputRowFloats = outputWidth * channels
        // Output columns whose three taps all fall inside the input row.
        let interiorStart = min(outputWidth, (padLeft + stride - 1) / stride)
        let interiorEnd = inputWidth + padLeft - 3 < 0
            ? interiorStart : max(interiorStart, min(outputWidth, (inputWidth + padLeft - 3) / stride + 1))
        let (low, high) = activation?.clampBounds ?? (-.infinity, .infinity)
        let lowVector = SIMD4<Float>(repeating: low), highVector = SIMD4<Float>(repeating: high)
        let blocks = channels / 4

        for flatRow in rows {
            let image = flatRow / outputHeight, outputRow = flatRow % outputHeight
            let imageInput = input + image * inputHeight * inputRowFloats
            func inputRow(_ tapRow: Int) -> UnsafePointer<Float> {
                let y = outputRow * stride - padTop + tapRow
                return y >= 0 && y < inputHeight ? imageInput + y * inputRowFloats : zeroRow
            }
            let rowPointers = (inputRow(0), inputRow(1), inputRow(2))
            func row(_ tapRow: Int) -> UnsafePointer<Float> {
                tapRow == 0 ? rowPointers.0 : tapRow == 1 ? rowPointers.1 : rowPointers.2
            }
            let outputRowStart = output + flatRow * outputRowFloats
            for block in 0..<blocks {
                let channel = block * 4
                let taps = UnsafeRawPointer(packedWeights + block * 36)
                func tap(_ t: Int) -> SIMD4<Float> { taps.loadUnaligned(fromByteOffset: t * 16, as: SIMD4<Float>.self) }
                let offset = bias.map { ($0 + channel).loadVector4() } ?? .zero
                let w0 = tap(0), w1 = tap(1), w2 = tap(2), w3 = tap(3), w4 = tap(4)
                let w5 = tap(5), w6 = tap(6), w7 = tap(7), w8 = tap(8)
                let firstColumn = interiorStart * stride - padLeft
                var top = rowPointers.0 + firstColumn * pixel + channel
                var middle = rowPointers.1 + firstColumn * pixel + channel
                var bottom = rowPointers.2 + firstColumn * pixel + channel
                var destination = outputRowStart + interiorStart * pixel + channel
                let step = stride * pixel
                for _ in interiorStart..<interiorEnd {
                    var total = offset + w0 * top.loadVector4() + w1 * (top + pixel).loadVector4()
                        + w2 * (top + 2 * pixel).loadVector4()
                    total += w3 * middle.loadVector4() + w4 * (middle + pixel).loadVector4()
                        + w5 * (middle + 2 * pixel).loadVector4()
                    total += w6 * bottom.loadVector4() + w7 * (bottom + pixel).loadVector4()
                        + w8 * (bottom + 2 * pixel).loadVector4()
                    total.replace(with: lowVector, where: total .< lowVector)
                    total.replace(with: highVector, where: total .> highVector)
                    destination.storeVector4(total)
                    top += step
                    middle += step
                    bottom += step
                    destination += pixel
                }
            }
            // The border columns, every block; then the channels after the last block.
            for column in 0..<outputWidth where column < interiorStart || column >= interiorEnd {
                for block in 0..<blocks {
                    let channel = block * 4
                    var total = bias.map { ($0 + channel).loadVector4() } ?? .zero
                    forEachTap(column: column, stride: stride, padLeft: padLeft, inputWidth: inputWidth) { tapColumn, x in
                        for tapRow in 0..<3 {
                            let weight = (packedWeights + block * 36 + (tapRow * 3 + tapColumn) * 4).loadVector4()
                            total += weight * (row(tapRow) + x * pixel + channel).loadVector4()
                        }
                    }
                    total.replace(with: lowVector, where: total .< lowVector)
                    total.replace(with: highVector, where: total .> highVector)
                    (outputRowStart + column * pixel + channel).storeVector4(total)
                }
            }
            for channel in blocks * 4..<channels {
                for column in 0..<outputWidth {
                    var total = bias?[channel] ?? 0
                    forEachTap(column: column, stride: stride, padLeft: padLeft, inputWidth: inputWidth) { tapColumn, x in
                        for tapRow in 0..<3 {
                            total += weights[channel * 9 + tapRow * 3 + tapColumn] * row(tapRow)[x * pixel + channel]
                        }
                    }
                    outputRowStart[column * pixel + channel] = FusedActivation.clamp(total, low: low, high: high)
                }
            }
            activation?.unlessClamp?.apply(outputRowStart, count: outputRowFloats)
        }
    }

    /// Calls `body(tapColumn, inputColumn)` for the taps of output `column` that fall inside the row.
    @inline(__always)
    private static func forEachTap(column: Int, stride: Int, padLeft: Int, inputWidth: Int,
                                   _ body: (_ tapColumn: Int, _ inputColumn: Int) -> Void) {
        for tapColumn in 0..<3 {
            let x = column * stride - padLeft + tapColumn
            if x >= 0 && x < inputWidth { body(tapColumn, x) }
        }
    }
}
