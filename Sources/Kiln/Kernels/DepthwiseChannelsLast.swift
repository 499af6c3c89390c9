/// Depthwise 3x3 convolution (stride 1 or 2, dilation 1, any padding) of channels-last data
/// (`[batch, height, width, channels]`), with bias and activation fused.
///
/// Channels-last puts a pixel's channels side by side, so a block of channels is one vector load
/// and an output position of one block is 9 vector multiply-adds with per-lane weights. The NCHW
/// kernels get the same arithmetic only after transposing planes into this form and back for
/// every group (``DepthwiseChannelGroups``), which cost MobileNetV2 as much as the arithmetic on its
/// 7x7 and 14x14 layers. Here one block of channels walks a whole output row with its 9 weight
/// vectors, bias and clamp bounds held in registers; the three input rows it reads (at most a few
/// hundred KB) stay in L2 while the row's other blocks follow. Rows above or below the input read a
/// zero row; the one or two output columns whose taps reach into the left or right padding take a
/// bounds-checked path.
///
/// A block is 16 channels (one zmm register) in a build compiled for AVX-512 when the channel
/// count is a multiple of 16, and 4 channels (`SIMD4`, which every x86-64 build executes natively)
/// otherwise. MobileNetV2's 144-channel layer at 56x56: 0.142 ms with 4 lanes at 2 threads.
package enum DepthwiseChannelsLast {
    /// Whether ``convolve3x3`` handles this geometry (the same as the NCHW kernel's).
    package static func applies(_ geometry: SlidingWindowGeometry) -> Bool {
        DepthwiseKernels.applies3x3(geometry)
    }

    /// Channels per block for `channels`: 16 where the build has AVX-512 and they divide evenly, else 4.
    package static func lanes(channels: Int) -> Int {
        BuildTarget.hasAVX512 && channels % 16 == 0 ? 16 : 4
    }

    /// Floats ``packWeights`` writes: 9 per channel of the whole blocks (channels left over are read
    /// from the unpacked weights).
    package static func packedWeightFloats(channels: Int, lanes: Int? = nil) -> Int {
        let lanes = lanes ?? self.lanes(channels: channels)
        return channels / lanes * lanes * 9
    }

    /// Packs W `[channels, 1, 3, 3]` into `[channels / lanes][tap][lane]` (``lanes(channels:)``): tap
    /// `t` of a block is then one vector whose lane `k` is channel `lanes * block + k`'s weight.
    /// `lanes` (4 or 16) overrides the build's choice, for tests.
    package static func packWeights(_ weights: UnsafePointer<Float>, channels: Int, lanes: Int? = nil,
                                    into packed: UnsafeMutablePointer<Float>) {
        let lanes = lanes ?? self.lanes(channels: channels)
        for block in 0..<channels / lanes {
            for tap in 0..<9 {
                for lane in 0..<lanes {
                    packed[(block * 9 + tap) * lanes + lane] = weights[(block * lanes + lane) * 9 + tap]
                }
            }
        }
    }

    /// `output = activation(bias + depthwise 3x3 convolution of input)` for the output rows in
    /// `rows` (flattened `image * outputHeight + outputRow`).
    /// - Parameters:
    ///   - packedWeights: ``packWeights(_:channels:into:)`` of `weights`.
    ///   - weights: W `[channels, 1, 3, 3]` as stored (for the channels after the last block of four).
    ///   - zeroRow: `inputWidth * channels` zeros, read for rows in the vertical padding.
    ///   - lanes: overrides the build's block width (4 or 16), for tests; `packedWeights` must match.
    package static func convolve3x3(_ input: UnsafePointer<Float>, packedWeights: UnsafePointer<Float>,
                                    weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, channels: Int,
                                    geometry: SlidingWindowGeometry, activation: FusedActivation?,
                                    zeroRow: UnsafePointer<Float>, rows: Range<Int>, lanes: Int? = nil,
                                    output: UnsafeMutablePointer<Float>) {
        if (lanes ?? self.lanes(channels: channels)) == 16 {
            convolve3x3(input, packedWeights: packedWeights, weights: weights, bias: bias, channels: channels,
                        geometry: geometry, activation: activation, zeroRow: zeroRow, rows: rows, output: output,
                        blocksOf: SIMD16<Float>.self)
        } else {
            convolve3x3(input, packedWeights: packedWeights, weights: weights, bias: bias, channels: channels,
                        geometry: geometry, activation: activation, zeroRow: zeroRow, rows: rows, output: output,
                        blocksOf: SIMD4<Float>.self)
        }
    }

    private static func convolve3x3<Vector: FloatVector>(_ input: UnsafePointer<Float>, packedWeights: UnsafePointer<Float>,
                                                  weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                                  channels: Int, geometry: SlidingWindowGeometry,
                                                  activation: FusedActivation?, zeroRow: UnsafePointer<Float>,
                                                  rows: Range<Int>, output: UnsafeMutablePointer<Float>,
                                                  blocksOf _: Vector.Type) {
        let lanes = Vector.scalarCount
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
        let lowVector = Vector(repeating: low), highVector = Vector(repeating: high)
        let blocks = channels / lanes

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
                let channel = block * lanes
                let taps = packedWeights + block * 9 * lanes
                func tap(_ t: Int) -> Vector { (taps + t * lanes).loadVector() }
                let offset: Vector = bias.map { ($0 + channel).loadVector() } ?? .zero
                let w0 = tap(0), w1 = tap(1), w2 = tap(2), w3 = tap(3), w4 = tap(4)
                let w5 = tap(5), w6 = tap(6), w7 = tap(7), w8 = tap(8)
                let firstColumn = interiorStart * stride - padLeft
                var top = rowPointers.0 + firstColumn * pixel + channel
                var middle = rowPointers.1 + firstColumn * pixel + channel
                var bottom = rowPointers.2 + firstColumn * pixel + channel
                var destination = outputRowStart + interiorStart * pixel + channel
                let step = stride * pixel
                for _ in interiorStart..<interiorEnd {
                    var total = offset + w0 * top.loadVector() + w1 * (top + pixel).loadVector()
                        + w2 * (top + 2 * pixel).loadVector()
                    total += w3 * middle.loadVector() + w4 * (middle + pixel).loadVector()
                        + w5 * (middle + 2 * pixel).loadVector()
                    total += w6 * bottom.loadVector() + w7 * (bottom + pixel).loadVector()
                        + w8 * (bottom + 2 * pixel).loadVector()
                    destination.storeVector(total.clamped(low: lowVector, high: highVector))
                    top += step
                    middle += step
                    bottom += step
                    destination += pixel
                }
            }
            // The border columns, every block; then the channels after the last block.
            for column in 0..<outputWidth where column < interiorStart || column >= interiorEnd {
                for block in 0..<blocks {
                    let channel = block * lanes
                    var total: Vector = bias.map { ($0 + channel).loadVector() } ?? .zero
                    forEachTap(column: column, stride: stride, padLeft: padLeft, inputWidth: inputWidth) { tapColumn, x in
                        for tapRow in 0..<3 {
                            let weight: Vector = (packedWeights + (block * 9 + tapRow * 3 + tapColumn) * lanes).loadVector()
                            total += weight * (row(tapRow) + x * pixel + channel).loadVector()
                        }
                    }
                    (outputRowStart + column * pixel + channel).storeVector(total.clamped(low: lowVector, high: highVector))
                }
            }
            for channel in blocks * lanes..<channels {
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
