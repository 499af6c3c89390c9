import CBLAS
import Foundation

/// Winograd F(4x4, 3x3) for the same convolutions as ``WinogradKernels`` (3x3, stride 1, dilation 1,
/// ungrouped, 2-D): each 4x4 output tile comes from a 6x6 input tile with 36 multiplications per
/// (input channel, output channel) pair instead of 144, a 4x cut of the matrix-product work (F(2x2)
/// cuts 2.25x), at the price of larger transforms and slightly larger rounding error.
///
/// Interpolation points 0, ±1, ±2 and infinity:
/// `Bᵀ = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0],
/// [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]`,
/// `G = [[1/4, 0, 0], [-1/6, -1/6, -1/6], [-1/6, 1/6, -1/6], [1/24, 1/12, 1/6], [1/24, -1/12, 1/6], [0, 0, 1]]`,
/// `Aᵀ = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]`.
///
/// Layouts (row-major): `U` is `[36, outputChannels, channels]`, `V` is `[36, channels, tiles]`, `M` is
/// `[36, outputChannels, tiles]`, where `tiles = batch * tileRows * tileColumns`.
package enum WinogradF4Kernels {
    /// Transforms `[outputChannels, channels, 3, 3]` weights to `U`, `[36, outputChannels, channels]`,
    /// for the output channels in `outputChannelRange`.
    package static func transformWeights(_ weights: UnsafePointer<Float>, outputChannels: Int, channels: Int,
                                         outputChannelRange: Range<Int>, into u: UnsafeMutablePointer<Float>) {
        let plane = outputChannels * channels
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 18) { buffer in
            let t = buffer.baseAddress!
            for outputChannel in outputChannelRange {
                for channel in 0..<channels {
                    let g = weights + (outputChannel * channels + channel) * 9
                    // t = G g: 6x3.
                    for column in 0..<3 {
                        let g0 = g[column], g1 = g[3 + column], g2 = g[6 + column]
                        t[column] = g0 / 4
                        t[3 + column] = -(g0 + g1 + g2) / 6
                        t[6 + column] = -(g0 - g1 + g2) / 6
                        t[9 + column] = g0 / 24 + g1 / 12 + g2 / 6
                        t[12 + column] = g0 / 24 - g1 / 12 + g2 / 6
                        t[15 + column] = g2
                    }
                    // U = t Gᵀ: 6x6.
                    let destination = u + outputChannel * channels + channel
                    for row in 0..<6 {
                        let a = t[3 * row], b = t[3 * row + 1], c = t[3 * row + 2]
                        destination[(6 * row) * plane] = a / 4
                        destination[(6 * row + 1) * plane] = -(a + b + c) / 6
                        destination[(6 * row + 2) * plane] = -(a - b + c) / 6
                        destination[(6 * row + 3) * plane] = a / 24 + b / 12 + c / 6
                        destination[(6 * row + 4) * plane] = a / 24 - b / 12 + c / 6
                        destination[(6 * row + 5) * plane] = c
                    }
                }
            }
        }
    }

    /// Transforms the input tiles of `channelRange` to `V`, `[36, channels, tiles]`; positions outside
    /// the input read as 0. One tile row at a time: six zero-padded input rows, the column half of
    /// the transform across the whole width, then the row half tile by tile.
    ///
    /// With `tileRowRange`, only those tile rows of every image, and `V` holds just them:
    /// `tiles = batch * tileRowRange.count * tileColumns`.
    package static func transformInput(_ input: UnsafePointer<Float>, batch: Int, channels: Int,
                                       geometry: SlidingWindowGeometry, channelRange: Range<Int>,
                                       tileRowRange: Range<Int>? = nil, into v: UnsafeMutablePointer<Float>) {
        let inputHeight = geometry.inputSize[0], inputWidth = geometry.inputSize[1]
        let tileColumns = (geometry.outputSize[1] + 3) / 4
        let tileRows = tileRowRange ?? 0..<((geometry.outputSize[0] + 3) / 4)
        let tilesPerImage = tileRows.count * tileColumns
        let tiles = batch * tilesPerImage
        let plane = channels * tiles
        let padTop = geometry.padsBegin[0], padLeft = geometry.padsBegin[1]
        let paddedWidth = 4 * tileColumns + 2

        StackScratch.withFloats(12 * paddedWidth) { buffer in
            let rows = buffer, transformed = rows + 6 * paddedWidth
            for channel in channelRange {
                for image in 0..<batch {
                    let source = input + (image * channels + channel) * inputHeight * inputWidth
                    let destination = v + channel * tiles + image * tilesPerImage
                    for tileRow in tileRows {
                        WinogradKernels.loadPaddedRows(source, firstRow: 4 * tileRow - padTop, count: 6,
                                                       inputHeight: inputHeight, inputWidth: inputWidth, padLeft: padLeft,
                                                       paddedWidth: paddedWidth, into: rows)
                        // Bᵀ d, across the width.
                        let d0 = rows, d1 = d0 + paddedWidth, d2 = d1 + paddedWidth
                        let d3 = d2 + paddedWidth, d4 = d3 + paddedWidth, d5 = d4 + paddedWidth
                        let t0 = transformed, t1 = t0 + paddedWidth, t2 = t1 + paddedWidth
                        let t3 = t2 + paddedWidth, t4 = t3 + paddedWidth, t5 = t4 + paddedWidth
                        for column in 0..<paddedWidth {
                            let a1 = d1[column], a2 = d2[column], a3 = d3[column], a4 = d4[column]
                            t0[column] = 4 * d0[column] - 5 * a2 + a4
                            t1[column] = a3 + a4 - 4 * (a1 + a2)
                            t2[column] = a4 - a3 + 4 * (a1 - a2)
                            t3[column] = a4 - a2 + 2 * (a3 - a1)
                            t4[column] = a4 - a2 - 2 * (a3 - a1)
                            t5[column] = 4 * a1 - 5 * a3 + d5[column]
                        }
                        // (Bᵀ d) B, tile by tile.
                        let out = destination + (tileRow - tileRows.lowerBound) * tileColumns
                        for row in 0..<6 {
                            let e = transformed + row * paddedWidth
                            let o0 = out + (6 * row) * plane, o1 = o0 + plane, o2 = o1 + plane
                            let o3 = o2 + plane, o4 = o3 + plane, o5 = o4 + plane
                            for tile in 0..<tileColumns {
                                let p = e + 4 * tile
                                let e1 = p[1], e2 = p[2], e3 = p[3], e4 = p[4]
                                o0[tile] = 4 * p[0] - 5 * e2 + e4
                                o1[tile] = e3 + e4 - 4 * (e1 + e2)
                                o2[tile] = e4 - e3 + 4 * (e1 - e2)
                                o3[tile] = e4 - e2 + 2 * (e3 - e1)
                                o4[tile] = e4 - e2 - 2 * (e3 - e1)
                                o5[tile] = 4 * e1 - 5 * e3 + p[5]
                            }
                        }
                    }
                }
            }
        }
    }

    /// Transforms the products `M`, `[36, outputChannels, tiles]`, of `outputChannelRange` back to
    /// output tiles, adds the bias, applies the activation and writes the part inside the output.
    /// With `tileRowRange`, `M` holds only those tile rows, as ``transformInput`` wrote `V`.
    package static func transformOutput(_ m: UnsafePointer<Float>, bias: UnsafePointer<Float>?, batch: Int,
                                        outputChannels: Int, geometry: SlidingWindowGeometry,
                                        outputChannelRange: Range<Int>, tileRowRange: Range<Int>? = nil,
                                        activation: FusedActivation?, into output: UnsafeMutablePointer<Float>) {
        let outputHeight = geometry.outputSize[0], outputWidth = geometry.outputSize[1]
        let tileColumns = (outputWidth + 3) / 4
        let tileRows = tileRowRange ?? 0..<((outputHeight + 3) / 4)
        let tilesPerImage = tileRows.count * tileColumns
        let tiles = batch * tilesPerImage
        let plane = outputChannels * tiles
        let paddedWidth = 4 * tileColumns

        // Rows of s = Aᵀ M (4 x 6 per tile, stored as 24 rows across tiles), then 4 output rows.
        StackScratch.withFloats(24 * tileColumns + 4 * paddedWidth) { buffer in
            let s = buffer, rowsOut = s + 24 * tileColumns
            for outputChannel in outputChannelRange {
                let offset = bias?[outputChannel] ?? 0
                for image in 0..<batch {
                    let source = m + outputChannel * tiles + image * tilesPerImage
                    let destination = output + (image * outputChannels + outputChannel) * outputHeight * outputWidth
                    for tileRow in tileRows {
                        let p = source + (tileRow - tileRows.lowerBound) * tileColumns
                        // Aᵀ M: for each of the 6 columns, combine the 6 rows; contiguous across tiles.
                        for column in 0..<6 {
                            let m0 = p + column * plane, m1 = m0 + 6 * plane, m2 = m1 + 6 * plane
                            let m3 = m2 + 6 * plane, m4 = m3 + 6 * plane, m5 = m4 + 6 * plane
                            let s0 = s + column * tileColumns, s1 = s0 + 6 * tileColumns
                            let s2 = s1 + 6 * tileColumns, s3 = s2 + 6 * tileColumns
                            for tile in 0..<tileColumns {
                                let a1 = m1[tile], a2 = m2[tile], a3 = m3[tile], a4 = m4[tile]
                                let sum12 = a1 + a2, difference12 = a1 - a2
                                let sum34 = a3 + a4, difference34 = a3 - a4
                                s0[tile] = m0[tile] + sum12 + sum34
                                s1[tile] = difference12 + 2 * difference34
                                s2[tile] = sum12 + 4 * sum34
                                s3[tile] = difference12 + 8 * difference34 + m5[tile]
                            }
                        }
                        // (Aᵀ M) A: each row of s gives 4 outputs per tile.
                        for row in 0..<4 {
                            let r = s + row * 6 * tileColumns
                            let out = rowsOut + row * paddedWidth
                            let r0 = r, r1 = r0 + tileColumns, r2 = r1 + tileColumns
                            let r3 = r2 + tileColumns, r4 = r3 + tileColumns, r5 = r4 + tileColumns
                            for tile in 0..<tileColumns {
                                let a1 = r1[tile], a2 = r2[tile], a3 = r3[tile], a4 = r4[tile]
                                let sum12 = a1 + a2, difference12 = a1 - a2
                                let sum34 = a3 + a4, difference34 = a3 - a4
                                out[4 * tile] = offset + r0[tile] + sum12 + sum34
                                out[4 * tile + 1] = offset + difference12 + 2 * difference34
                                out[4 * tile + 2] = offset + sum12 + 4 * sum34
                                out[4 * tile + 3] = offset + difference12 + 8 * difference34 + r5[tile]
                            }
                        }
                        for row in 0..<4 where 4 * tileRow + row < outputHeight {
                            FusedActivation.store(rowsOut + row * paddedWidth, to: destination + (4 * tileRow + row) * outputWidth,
                                                  count: outputWidth, activation: activation)
                        }
                    }
                }
            }
        }
    }

    /// The whole convolution: input transform (threaded over channels), the 36 products split across
    /// the pool (each a single-threaded `sgemm`), output transform (threaded over output channels).
    /// - Parameter u: Weights already transformed by ``transformWeights``.
    package static func convolve(_ input: UnsafePointer<Float>, u: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                 output: UnsafeMutablePointer<Float>, batch: Int, channels: Int, outputChannels: Int,
                                 geometry: SlidingWindowGeometry, activation: FusedActivation? = nil,
                                 context: ExecutionContext) throws {
        let tiles = batch * ((geometry.outputSize[0] + 3) / 4) * ((geometry.outputSize[1] + 3) / 4)
        guard tiles > 0, outputChannels > 0 else { return }
        guard let m32 = Int32(exactly: outputChannels), let n32 = Int32(exactly: tiles), let k32 = Int32(exactly: channels)
        else { throw OperatorError("Winograd products of \(outputChannels) x \(channels) x \(tiles) are too large for 32-bit BLAS") }
        let v = try KernelScratch.floats(rows: 36 * max(1, channels), columns: tiles, purpose: "Winograd input")
        defer { KernelScratch.release(v) }
        let m = try KernelScratch.floats(rows: 36 * outputChannels, columns: tiles, purpose: "Winograd product")
        defer { KernelScratch.release(m) }

        let tileRows = (geometry.outputSize[0] + 3) / 4, tileColumns = (geometry.outputSize[1] + 3) / 4
        if channels > 0 && splitsByTileRows(tiles: tiles, tileRows: tileRows, channels: channels,
                                            outputChannels: outputChannels, threads: context.threads) {
            // Each piece is a band of tile rows taken through all three steps by one thread, with
            // its own contiguous part of V and M: the band's transforms, products and output never
            // leave the core that computed them.
            let tilesPerRow = batch * tileColumns
            context.parallelChunks(tileRows, minimumChunk: max(1, (minimumBandTiles + tilesPerRow - 1) / tilesPerRow)) { _, rows in
                let bandTiles = rows.count * tilesPerRow
                let vBand = v + 36 * channels * rows.lowerBound * tilesPerRow
                let mBand = m + 36 * outputChannels * rows.lowerBound * tilesPerRow
                transformInput(input, batch: batch, channels: channels, geometry: geometry, channelRange: 0..<channels,
                               tileRowRange: rows, into: vBand)
                for position in 0..<36 {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m32, Int32(bandTiles), k32, 1,
                                u + position * outputChannels * channels, k32, vBand + position * channels * bandTiles,
                                Int32(bandTiles), 0, mBand + position * outputChannels * bandTiles, Int32(bandTiles))
                }
                transformOutput(mBand, bias: bias, batch: batch, outputChannels: outputChannels, geometry: geometry,
                                outputChannelRange: 0..<outputChannels, tileRowRange: rows, activation: activation,
                                into: output)
            }
            return
        }
        context.parallelFor(channels, minimumChunk: max(1, 2_048 / tiles)) { range in
            transformInput(input, batch: batch, channels: channels, geometry: geometry, channelRange: range, into: v)
        }
        if channels == 0 { m.update(repeating: 0, count: 36 * outputChannels * tiles) }
        context.parallelFor(channels == 0 ? 0 : 36) { positions in
            for position in positions {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m32, n32, k32, 1,
                            u + position * outputChannels * channels, max(1, k32), v + position * channels * tiles, n32,
                            0, m + position * outputChannels * tiles, n32)
            }
        }
        context.parallelFor(outputChannels, minimumChunk: max(1, 2_048 / tiles)) { range in
            transformOutput(m, bias: bias, batch: batch, outputChannels: outputChannels, geometry: geometry,
                            outputChannelRange: range, activation: activation, into: output)
        }
    }

    /// A band of tile rows holds at least this many tiles: narrower products lose sgemm's blocking.
    package static let minimumBandTiles = 64

    /// Whether the threads take bands of tile rows (each through input transform, products and
    /// output transform) rather than splitting each step across all of them (channels, then the 36
    /// products, then output channels). The step-wise split reads, at every step, what the other
    /// thread wrote in the step before; when the two vCPUs do not share an L3 (a placement the host
    /// switches to and from every few seconds, seen as a 300 ns cache-line round trip instead of
    /// 60 ns) those reads crossed between caches and ResNet-18's 56x56 layers ran 0.65 -> 1.1 ms.
    /// Bands read each of the 36 weight matrices on every thread, so they pay where V and M are
    /// large against U: `tiles * (channels + outputChannels) >= 2 * channels * outputChannels`.
    /// `KILN_WINOGRAD_BANDS=0` or `1` forces the choice (for measuring).
    package static func splitsByTileRows(tiles: Int, tileRows: Int, channels: Int, outputChannels: Int, threads: Int) -> Bool {
        guard threads > 1, tileRows >= 2, tiles >= 2 * minimumBandTiles else { return false }
        switch bandMode {
        case "0": return false
        case "1": return true
        default: return tiles * (channels + outputChannels) >= 2 * channels * outputChannels
        }
    }

    private static let bandMode = ProcessInfo.processInfo.environment["KILN_WINOGRAD_BANDS"]
}
