import CBLAS

/// Winograd F(2x2, 3x3) convolution for 3x3, stride-1, dilation-1, ungrouped 2-D convolutions.
///
/// Each 2x2 output tile is computed from a 4x4 input tile with 16 multiplications per
/// (input channel, output channel) pair instead of 36, so the matrix products shrink by 2.25x. The
/// work splits into four steps: weights `U = G g Gᵀ` (once per weight tensor), input tiles
/// `V = Bᵀ d B`, 16 independent products `M[xy] = U[xy] · V[xy]` (one `sgemm` each, over all tiles of
/// all images at once), and output tiles `Y = Aᵀ M A` plus bias.
///
/// Layouts (row-major): `U` is `[16, outputChannels, channels]`, `V` is `[16, channels, tiles]`, `M` is
/// `[16, outputChannels, tiles]`, where `tiles = batch * tileRows * tileColumns`.
package enum WinogradKernels {
    /// Whether ``convolve`` applies to a convolution with this geometry and group count.
    package static func applies(geometry: SlidingWindowGeometry, groups: Int) -> Bool {
        geometry.rank == 2 && groups == 1 && geometry.kernel == [3, 3] && geometry.strides == [1, 1]
            && geometry.dilations == [1, 1]
    }

    /// Transforms `[outputChannels, channels, 3, 3]` weights to `U`, `[16, outputChannels, channels]`.
    /// Fills only the output channels in `outputChannelRange`, so callers can split the work.
    package static func transformWeights(_ weights: UnsafePointer<Float>, outputChannels: Int, channels: Int,
                                         outputChannelRange: Range<Int>, into u: UnsafeMutablePointer<Float>) {
        let plane = outputChannels * channels
        for outputChannel in outputChannelRange {
            for channel in 0..<channels {
                let g = weights + (outputChannel * channels + channel) * 9
                // t = G g: 4x3, G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]].
                var t = (Float(0), Float(0), Float(0), Float(0), Float(0), Float(0),
                         Float(0), Float(0), Float(0), Float(0), Float(0), Float(0))
                withUnsafeMutableBytes(of: &t) { raw in
                    let rows = raw.baseAddress!.assumingMemoryBound(to: Float.self)
                    for column in 0..<3 {
                        let g0 = g[column], g1 = g[3 + column], g2 = g[6 + column]
                        rows[column] = g0
                        rows[3 + column] = 0.5 * (g0 + g1 + g2)
                        rows[6 + column] = 0.5 * (g0 - g1 + g2)
                        rows[9 + column] = g2
                    }
                    // U = t Gᵀ: 4x4.
                    let destination = u + outputChannel * channels + channel
                    for row in 0..<4 {
                        let a = rows[3 * row], b = rows[3 * row + 1], c = rows[3 * row + 2]
                        destination[(4 * row) * plane] = a
                        destination[(4 * row + 1) * plane] = 0.5 * (a + b + c)
                        destination[(4 * row + 2) * plane] = 0.5 * (a - b + c)
                        destination[(4 * row + 3) * plane] = c
                    }
                }
            }
        }
    }

    /// Copies input rows `firstRow ..< firstRow + count` of one channel plane into `count` buffers of
    /// `paddedWidth` floats each, shifted right by `padLeft`; rows and columns outside the image are 0.
    /// Shared by the F(2x2) and F(4x4) input transforms, which read 4 and 6 rows per tile row.
    @inline(__always)
    package static func loadPaddedRows(_ source: UnsafePointer<Float>, firstRow: Int, count: Int,
                                       inputHeight: Int, inputWidth: Int, padLeft: Int, paddedWidth: Int,
                                       into rows: UnsafeMutablePointer<Float>) {
        // The input columns a padded row takes from the image, and where they land in it.
        let firstColumn = max(0, padLeft), lastColumn = min(paddedWidth, inputWidth + padLeft)
        let copied = max(0, lastColumn - firstColumn)
        for row in 0..<count {
            let line = rows + row * paddedWidth
            let y = firstRow + row
            if y < 0 || y >= inputHeight || copied == 0 {
                line.update(repeating: 0, count: paddedWidth)
                continue
            }
            line.update(repeating: 0, count: firstColumn)
            (line + firstColumn).update(from: source + y * inputWidth + (firstColumn - padLeft), count: copied)
            (line + lastColumn).update(repeating: 0, count: paddedWidth - lastColumn)
        }
    }

    /// Transforms the input tiles of `channelRange` to `V`, `[16, channels, tiles]`; positions outside
    /// the input (padding, and the overhang of the last tile row and column) read as 0.
    ///
    /// Works one tile row at a time: the four input rows are copied into zero-padded buffers, the
    /// column half of the transform runs across the whole width (contiguous, vectorizes), then the
    /// row half runs across tiles, writing each of the 16 outputs contiguously.
    /// - Parameter input: `[batch, channels, inputHeight, inputWidth]`.
    package static func transformInput(_ input: UnsafePointer<Float>, batch: Int, channels: Int,
                                       geometry: SlidingWindowGeometry, channelRange: Range<Int>,
                                       into v: UnsafeMutablePointer<Float>) {
        let inputHeight = geometry.inputSize[0], inputWidth = geometry.inputSize[1]
        let tileRows = (geometry.outputSize[0] + 1) / 2, tileColumns = (geometry.outputSize[1] + 1) / 2
        let tilesPerImage = tileRows * tileColumns
        let tiles = batch * tilesPerImage
        let plane = channels * tiles
        let padTop = geometry.padsBegin[0], padLeft = geometry.padsBegin[1]
        let paddedWidth = 2 * tileColumns + 2

        StackScratch.withFloats(8 * paddedWidth) { buffer in
            let rows = buffer, transformed = rows + 4 * paddedWidth
            for channel in channelRange {
                for image in 0..<batch {
                    let source = input + (image * channels + channel) * inputHeight * inputWidth
                    let destination = v + channel * tiles + image * tilesPerImage
                    for tileRow in 0..<tileRows {
                        WinogradKernels.loadPaddedRows(source, firstRow: 2 * tileRow - padTop, count: 4,
                                                       inputHeight: inputHeight, inputWidth: inputWidth, padLeft: padLeft,
                                                       paddedWidth: paddedWidth, into: rows)
                        // Bᵀ d with Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]].
                        let d0 = rows, d1 = rows + paddedWidth, d2 = rows + 2 * paddedWidth, d3 = rows + 3 * paddedWidth
                        let t0 = transformed, t1 = t0 + paddedWidth, t2 = t1 + paddedWidth, t3 = t2 + paddedWidth
                        for column in 0..<paddedWidth {
                            t0[column] = d0[column] - d2[column]
                            t1[column] = d1[column] + d2[column]
                            t2[column] = d2[column] - d1[column]
                            t3[column] = d1[column] - d3[column]
                        }
                        // (Bᵀ d) B, tile by tile.
                        let out = destination + tileRow * tileColumns
                        for row in 0..<4 {
                            let e = transformed + row * paddedWidth
                            let o0 = out + (4 * row) * plane, o1 = out + (4 * row + 1) * plane
                            let o2 = out + (4 * row + 2) * plane, o3 = out + (4 * row + 3) * plane
                            for tile in 0..<tileColumns {
                                let e0 = e[2 * tile], e1 = e[2 * tile + 1], e2 = e[2 * tile + 2], e3 = e[2 * tile + 3]
                                o0[tile] = e0 - e2
                                o1[tile] = e1 + e2
                                o2[tile] = e2 - e1
                                o3[tile] = e1 - e3
                            }
                        }
                    }
                }
            }
        }
    }

    /// Transforms the products `M`, `[16, outputChannels, tiles]`, of `outputChannelRange` back to
    /// output tiles, adds the bias and writes the part of each tile inside the output.
    ///
    /// Works one tile row at a time, reading each of the 16 products contiguously across tiles and
    /// writing two full-width rows into a buffer, of which the part inside the output is copied out.
    /// - Parameter output: `[batch, outputChannels, outputHeight, outputWidth]`.
    package static func transformOutput(_ m: UnsafePointer<Float>, bias: UnsafePointer<Float>?, batch: Int,
                                        outputChannels: Int, geometry: SlidingWindowGeometry,
                                        outputChannelRange: Range<Int>, activation: FusedActivation? = nil,
                                        into output: UnsafeMutablePointer<Float>) {
        let outputHeight = geometry.outputSize[0], outputWidth = geometry.outputSize[1]
        let tileRows = (outputHeight + 1) / 2, tileColumns = (outputWidth + 1) / 2
        let tilesPerImage = tileRows * tileColumns
        let tiles = batch * tilesPerImage
        let plane = outputChannels * tiles
        let paddedWidth = 2 * tileColumns

        StackScratch.withFloats(2 * paddedWidth) { buffer in
            let upper = buffer, lower = upper + paddedWidth
            for outputChannel in outputChannelRange {
                let offset = bias?[outputChannel] ?? 0
                for image in 0..<batch {
                    let source = m + outputChannel * tiles + image * tilesPerImage
                    let destination = output + (image * outputChannels + outputChannel) * outputHeight * outputWidth
                    for tileRow in 0..<tileRows {
                        let p = source + tileRow * tileColumns
                        // Aᵀ M A with Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]], four tiles at a time: the
                        // 16 products are four contiguous vectors each, and each output row's two
                        // columns per tile are interleaved back with lane shuffles. One tile per
                        // iteration wrote those columns with strided stores and did not vectorize
                        // (SqueezeNet's four 13x13 F(2x2) layers spent ~5% of the model's time here).
                        var tile = 0
                        while tile + 4 <= tileColumns {
                            func m(_ index: Int) -> SIMD4<Float> { (p + index * plane + tile).loadVector4() }
                            let s0 = m(0) + m(4) + m(8), s1 = m(1) + m(5) + m(9)
                            let s2 = m(2) + m(6) + m(10), s3 = m(3) + m(7) + m(11)
                            let d0 = m(4) - m(8) - m(12), d1 = m(5) - m(9) - m(13)
                            let d2 = m(6) - m(10) - m(14), d3 = m(7) - m(11) - m(15)
                            let bias = SIMD4<Float>(repeating: offset)
                            let upperEven = bias + s0 + s1 + s2, upperOdd = bias + s1 - s2 - s3
                            let lowerEven = bias + d0 + d1 + d2, lowerOdd = bias + d1 - d2 - d3
                            (upper + 2 * tile).storeVector4(SIMD4(upperEven[0], upperOdd[0], upperEven[1], upperOdd[1]))
                            (upper + 2 * tile + 4).storeVector4(SIMD4(upperEven[2], upperOdd[2], upperEven[3], upperOdd[3]))
                            (lower + 2 * tile).storeVector4(SIMD4(lowerEven[0], lowerOdd[0], lowerEven[1], lowerOdd[1]))
                            (lower + 2 * tile + 4).storeVector4(SIMD4(lowerEven[2], lowerOdd[2], lowerEven[3], lowerOdd[3]))
                            tile += 4
                        }
                        for tile in tile..<tileColumns {
                            let m00 = p[tile], m01 = p[plane + tile], m02 = p[2 * plane + tile], m03 = p[3 * plane + tile]
                            let m10 = p[4 * plane + tile], m11 = p[5 * plane + tile]
                            let m12 = p[6 * plane + tile], m13 = p[7 * plane + tile]
                            let m20 = p[8 * plane + tile], m21 = p[9 * plane + tile]
                            let m22 = p[10 * plane + tile], m23 = p[11 * plane + tile]
                            let m30 = p[12 * plane + tile], m31 = p[13 * plane + tile]
                            let m32 = p[14 * plane + tile], m33 = p[15 * plane + tile]
                            let s0 = m00 + m10 + m20, s1 = m01 + m11 + m21, s2 = m02 + m12 + m22, s3 = m03 + m13 + m23
                            let d0 = m10 - m20 - m30, d1 = m11 - m21 - m31, d2 = m12 - m22 - m32, d3 = m13 - m23 - m33
                            upper[2 * tile] = offset + s0 + s1 + s2
                            upper[2 * tile + 1] = offset + s1 - s2 - s3
                            lower[2 * tile] = offset + d0 + d1 + d2
                            lower[2 * tile + 1] = offset + d1 - d2 - d3
                        }
                        let y = 2 * tileRow
                        FusedActivation.store(upper, to: destination + y * outputWidth, count: outputWidth,
                                              activation: activation)
                        if y + 1 < outputHeight {
                            FusedActivation.store(lower, to: destination + (y + 1) * outputWidth, count: outputWidth,
                                                  activation: activation)
                        }
                    }
                }
            }
        }
    }

    /// The number of floats ``convolve`` needs for `V` and `M` together.
    package static func scratchFloats(batch: Int, channels: Int, outputChannels: Int,
                                      geometry: SlidingWindowGeometry) -> (v: Int, m: Int) {
        let tiles = batch * ((geometry.outputSize[0] + 1) / 2) * ((geometry.outputSize[1] + 1) / 2)
        return (16 * channels * tiles, 16 * outputChannels * tiles)
    }

    /// The whole convolution: input transform (threaded over channels), 16 `sgemm` calls from the
    /// split across the pool, output transform plus bias and activation (threaded over output channels).
    /// - Parameter u: Weights already transformed by ``transformWeights``.
    package static func convolve(_ input: UnsafePointer<Float>, u: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                 output: UnsafeMutablePointer<Float>, batch: Int, channels: Int, outputChannels: Int,
                                 geometry: SlidingWindowGeometry, activation: FusedActivation? = nil,
                                 context: ExecutionContext) throws {
        let (vCount, mCount) = scratchFloats(batch: batch, channels: channels, outputChannels: outputChannels,
                                             geometry: geometry)
        let tiles = vCount / max(1, 16 * channels)
        guard tiles > 0, outputChannels > 0 else { return }
        let v = try KernelScratch.floats(rows: 16 * channels, columns: tiles, purpose: "Winograd input")
        defer { KernelScratch.release(v) }
        let m = try KernelScratch.floats(rows: 16 * outputChannels, columns: tiles, purpose: "Winograd product")
        defer { KernelScratch.release(m) }
        _ = mCount

        context.parallelFor(channels, minimumChunk: max(1, 4_096 / tiles)) { range in
            transformInput(input, batch: batch, channels: channels, geometry: geometry, channelRange: range, into: v)
        }
        guard let m32 = Int32(exactly: outputChannels), let n32 = Int32(exactly: tiles), let k32 = Int32(exactly: channels)
        else { throw OperatorError("Winograd products of \(outputChannels) x \(channels) x \(tiles) are too large for 32-bit BLAS") }
        // The 16 products are independent: split them across the pool, each one single-threaded
        // (see ConvolutionGEMM for why Kiln, not OpenBLAS, owns the threads).
        context.parallelFor(16) { positions in
            for position in positions {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m32, n32, k32, 1,
                            u + position * outputChannels * channels, max(1, k32), v + position * channels * tiles, n32,
                            0, m + position * outputChannels * tiles, n32)
            }
        }
        context.parallelFor(outputChannels, minimumChunk: max(1, 4_096 / tiles)) { range in
            transformOutput(m, bias: bias, batch: batch, outputChannels: outputChannels, geometry: geometry,
                            outputChannelRange: range, activation: activation, into: output)
        }
    }
}
