import CBLAS
import Foundation

/// Convolution as matrix products (`output[M, positions] = weights[M, K] * columns[K, positions]` per
/// image and group), with the threads of the session split by Kiln itself and OpenBLAS running one
/// thread inside each piece.
///
/// Why Kiln splits instead of OpenBLAS: OpenBLAS's pthread workers spin for a while after each call,
/// so when Kiln's own pool then runs im2col, the Winograd transforms, depthwise planes or elementwise
/// ops, the two pools fight over the cores (2 threads gained ~20% on ResNet-18 and lost on
/// MobileNetV2). With one pool nothing spins between operators.
///
/// How the work splits, per image and group:
/// - 64 output positions or fewer (7x7 at the end of a ResNet), several threads: the depth splits
///   across threads (``splitsDepthAtFewPositions``), each lowering its own input channels and
///   multiplying them into partial sums in blocks small enough for OpenBLAS's unpacked kernel,
///   which reads the weights in place; one pass then adds the partial sums per output channel;
/// - many output channels (``minimumChannelsPerThread`` per thread), or few positions on one
///   thread: im2col once (rows split across threads), then the output channels split across
///   threads (at 64 positions or fewer, into blocks small enough for the unpacked kernel);
/// - otherwise (`positions >= threads * minimumTileWidth`): equal tiles of output positions, each
///   thread lowering only its tile to a private column buffer sized to stay in L2 (`K x tile`), then
///   multiplying it and adding bias, residual and the activation while the tile is in cache.
package enum ConvolutionGEMM {
    /// Tiles hold at most this many column floats (256 KiB: a quarter of the 1 MiB L2, leaving room
    /// for OpenBLAS's packed panels).
    /// `KILN_CONV_TILE_FLOATS` overrides it (for measuring).
    package static let tileFloats = environmentInteger("KILN_CONV_TILE_FLOATS") ?? 65_536
    /// Narrower tiles make `sgemm` inefficient: below this, split output channels instead.
    /// `KILN_CONV_MIN_TILE` overrides it (for measuring).
    package static let minimumTileWidth = environmentInteger("KILN_CONV_MIN_TILE") ?? 64
    /// With at least this many output channels per thread, splitting the channels beats splitting
    /// the positions: each thread's sgemm keeps every position and half the weights, and OpenBLAS
    /// runs [256+ x K] x [K x N] blocks near its peak, where halving N (a 14x14 or 28x28 layer split
    /// in two) drops it by a quarter to a half (measured with single-threaded OpenBLAS 0.3.21 on
    /// this machine: 512x784x256 scaled 1.86x split by channels against 1.37x by positions,
    /// 2048x49x512 1.86x against 0.89x; with 128 channels per thread, positions won).
    /// `KILN_CONV_SPLIT_CHANNELS` overrides it (for measuring).
    package static let minimumChannelsPerThread = environmentInteger("KILN_CONV_SPLIT_CHANNELS") ?? 256
    /// The channel split lowers the whole image at once; above this many column floats (16 MiB) it
    /// falls back to position tiles, which keep the lowering in L2.
    private static let maximumWholeLoweringFloats = 4 << 20

    private static func environmentInteger(_ name: String) -> Int? {
        guard let text = getenv(name) else { return nil }
        return Int(String(cString: text)).flatMap { $0 > 0 ? $0 : nil }
    }

    /// The whole convolution (not depthwise, not Winograd): `y = activation(conv(x, w) + b + residual)`.
    /// - Parameters:
    ///   - x: `[batch, channels, inputSize...]`; w: `[outputChannels, channels / groups, kernel...]`.
    ///   - residual: Added to the output before the activation, in the output's layout (may be nil).
    ///   - tileWidth: Overrides the tile width (tests use it to force many small tiles).
    package static func convolve(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>?,
                                 _ y: UnsafeMutablePointer<Float>, batch: Int, channels: Int, outputChannels: Int,
                                 groups: Int, geometry: SlidingWindowGeometry, residual: UnsafePointer<Float>? = nil,
                                 activation: FusedActivation?, context: ExecutionContext,
                                 tileWidth: Int? = nil) throws {
        let inputVolume = geometry.inputVolume, outputVolume = geometry.outputVolume
        let channelsPerGroup = channels / groups, outputsPerGroup = outputChannels / groups
        let depth = channelsPerGroup * geometry.kernelVolume
        let pointwise = geometry.isPointwise
        let threads = context.threads
        guard outputVolume > 0, outputsPerGroup > 0 else { return }
        // Checked once here so the per-tile calls below cannot fail.
        guard Int32(exactly: depth) != nil, Int32(exactly: outputVolume) != nil, Int32(exactly: outputsPerGroup) != nil
        else { throw OperatorError("convolution product [\(outputsPerGroup) x \(depth)] x [\(depth) x \(outputVolume)] is too large for 32-bit BLAS") }

        let width: Int
        if let tileWidth {
            width = max(1, tileWidth)
        } else {
            let fitting = max(minimumTileWidth, (tileFloats / max(1, depth)) / 16 * 16)
            let perThread = (outputVolume + threads - 1) / threads
            // Equal tiles, as many per thread: 196 positions in tiles of 64 would leave one thread
            // 128 and the other 68 (ResNet-50's stride-2 layer at 14x14 scaled 1.6x on 2 threads).
            let tilesPerThread = (perThread + fitting - 1) / fitting
            let tiles = threads * tilesPerThread
            let equal = (outputVolume + tiles - 1) / tiles
            // Wide tiles keep sgemm's 16-column blocking whole (the 7x7 stem ran 20% slower at 419).
            width = pointwise ? perThread : (equal >= 128 ? (equal + 15) / 16 * 16 : equal)
        }
        let splitChannels = tileWidth == nil && threads > 1
            && outputsPerGroup >= threads * minimumChannelsPerThread
            && (pointwise || depth * outputVolume <= maximumWholeLoweringFloats)
        let tileByPositions = rankTwoOrPointwise(geometry) && !splitChannels
            && (tileWidth != nil || outputVolume >= threads * minimumTileWidth)
        if !pointwise {
            // The same limit whether or not the lowering is tiled, checked on the calling thread so a
            // tile buffer can always be sized.
            _ = try KernelScratch.checkedCount(rows: depth, columns: outputVolume, purpose: "im2col")
        }
        let columns = tileByPositions || pointwise ? nil
            : try KernelScratch.floats(rows: depth, columns: outputVolume, purpose: "im2col")
        defer { KernelScratch.release(columns) }
        let splitDepth = columns != nil && threads > 1 && outputVolume <= 64 && tileWidth == nil
            && splitsDepthAtFewPositions && MatrixMultiplication.hasUnpackedSmallKernels
        let partials = splitDepth
            ? try KernelScratch.floats(rows: threads * outputsPerGroup, columns: outputVolume, purpose: "partial sums")
            : nil
        defer { KernelScratch.release(partials) }
        // One tile buffer per thread, taken here on the calling thread so a planned run serves it
        // from its arena (allocations on pool threads would go to the heap on every run).
        let tileBufferFloats = depth * width
        let tileBuffers = tileByPositions && !pointwise
            ? try KernelScratch.floats(rows: context.threads, columns: max(1, tileBufferFloats), purpose: "im2col tiles")
            : nil
        defer { KernelScratch.release(tileBuffers) }

        for image in 0..<batch {
            for group in 0..<groups {
                let groupInput = x + (image * channels + group * channelsPerGroup) * inputVolume
                let groupOutput = y + (image * outputChannels + group * outputsPerGroup) * outputVolume
                let groupWeights = w + group * outputsPerGroup * depth
                let groupBias = b.map { $0 + group * outputsPerGroup }
                let groupResidual = residual.map { $0 + (image * outputChannels + group * outputsPerGroup) * outputVolume }
                if tileByPositions {
                    let tiles = (outputVolume + width - 1) / width
                    context.parallelChunks(tiles) { chunk, tileRange in
                        let buffer = tileBuffers.map { $0 + chunk * max(1, tileBufferFloats) }
                        for tile in tileRange {
                            let start = tile * width, end = min(outputVolume, start + width)
                            let right: UnsafePointer<Float>, ldb: Int
                            if let buffer {
                                ConvolutionKernels.im2col2D(groupInput, channels: channelsPerGroup, geometry: geometry,
                                                            positions: start..<end, into: buffer, leadingDimension: end - start)
                                right = UnsafePointer(buffer)
                                ldb = end - start
                            } else {
                                right = groupInput + start
                                ldb = outputVolume
                            }
                            multiplyBlock(groupWeights, right, ldb: ldb, groupBias, groupResidual.map { $0 + start },
                                          groupOutput + start, ldc: outputVolume, rows: 0..<outputsPerGroup, columns: end - start,
                                          depth: depth, activation: activation)
                        }
                    }
                } else if let columns, let partials {
                    convolveSplittingDepth(groupInput, groupWeights, groupBias, groupResidual, groupOutput,
                                           columns: columns, partials: partials, outputs: outputsPerGroup,
                                           depth: depth, geometry: geometry, activation: activation, context: context)
                } else {
                    let right: UnsafePointer<Float>
                    if let columns {
                        context.parallelFor(depth, minimumChunk: max(1, 16_384 / outputVolume)) { rows in
                            ConvolutionKernels.im2col(groupInput, geometry: geometry, rows: rows, into: columns)
                        }
                        right = UnsafePointer(columns)
                    } else {
                        right = groupInput
                    }
                    // One block of output channels per thread, at least 16 rows each (sgemm's
                    // register blocking): every block packs all of `right` again, so more,
                    // smaller blocks would cost more than they balance. Except at 64 positions
                    // or fewer (7x7 stages): there blocks small enough for OpenBLAS's unpacked
                    // kernel read the weights in place instead of repacking them on every call,
                    // and the weights dominate the traffic. In the models at 2 threads, ResNet-50's
                    // 512 -> 2048 layers at 7x7 ran 0.80 -> 0.62 ms, MobileNetV2's 320 -> 1280
                    // 0.32 -> 0.28 ms. At 14x14 (576 x 196 x 96) the same blocks ran 20% slower.
                    let rowBlock = outputVolume <= 64
                        ? MatrixMultiplication.unpackedRowBlock(m: outputsPerGroup, n: outputVolume, k: depth) : nil
                    let blocks = rowBlock.map { (outputsPerGroup + $0 - 1) / $0 } ?? max(1, min(threads, outputsPerGroup / 16))
                    context.parallelChunks(blocks) { _, blockRange in
                        for block in blockRange {
                            let rows = (outputsPerGroup * block / blocks)..<(outputsPerGroup * (block + 1) / blocks)
                            multiplyBlock(groupWeights, right, ldb: outputVolume, groupBias, groupResidual, groupOutput,
                                          ldc: outputVolume, rows: rows, columns: outputVolume, depth: depth,
                                          activation: activation)
                        }
                    }
                }
            }
        }
    }

    /// Whether convolutions with at most 64 output positions (7x7 stages) split the depth of the
    /// product across threads rather than the output channels. Split by output channels, every
    /// thread reads the whole lowered matrix, half of it lowered by the other thread. Split by depth,
    /// each thread lowers its own input channels (the ones it wrote as the previous layer's output
    /// channels) and multiplies them into partial sums; one pass adds the partials per output
    /// channel. `KILN_CONV_SPLIT_DEPTH=0` turns it off (for measuring).
    package static let splitsDepthAtFewPositions = getenv("KILN_CONV_SPLIT_DEPTH").map { String(cString: $0) != "0" } ?? true

    /// `y = activation(w x + b + residual)` for `outputs x positions` outputs, the depth split into
    /// one part per thread: part `p` lowers its rows of the im2col matrix and multiplies them by
    /// the matching columns of `w` into `partials[p]`, in blocks OpenBLAS runs unpacked; then the
    /// output channels are shared out and each sums the parts with bias and residual.
    private static func convolveSplittingDepth(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                                               _ bias: UnsafePointer<Float>?, _ residual: UnsafePointer<Float>?,
                                               _ y: UnsafeMutablePointer<Float>, columns: UnsafeMutablePointer<Float>,
                                               partials: UnsafeMutablePointer<Float>, outputs: Int, depth: Int,
                                               geometry: SlidingWindowGeometry, activation: FusedActivation?,
                                               context: ExecutionContext) {
        let positions = geometry.outputVolume, parts = context.threads
        let limit = MatrixMultiplication.smallProductLimit
        context.parallelChunks(parts) { _, partRange in
            for part in partRange {
                let depthRange = (depth * part / parts)..<(depth * (part + 1) / parts)
                let partial = partials + part * outputs * positions
                guard !depthRange.isEmpty else {
                    partial.update(repeating: 0, count: outputs * positions)
                    continue
                }
                ConvolutionKernels.im2col(x, geometry: geometry, rows: depthRange, into: columns)
                // Blocks of rows x chunk x positions within OpenBLAS's unpacked-kernel limit.
                let chunk = max(1, min(depthRange.count, limit / (16 * positions)))
                let rowBlock = max(16, (limit / (positions * chunk)) / 16 * 16)
                var start = depthRange.lowerBound
                while start < depthRange.upperBound {
                    let count = min(chunk, depthRange.upperBound - start)
                    var row = 0
                    while row < outputs {
                        let rows = min(rowBlock, outputs - row)
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(positions), Int32(count),
                                    1, w + row * depth + start, Int32(depth), columns + start * positions, Int32(positions),
                                    start == depthRange.lowerBound ? 0 : 1, partial + row * positions, Int32(positions))
                        row += rows
                    }
                    start += count
                }
            }
        }
        let (low, high) = activation?.clampBounds ?? (-.infinity, .infinity)
        let remaining = activation?.unlessClamp
        let partStride = outputs * positions
        context.parallelFor(outputs, minimumChunk: max(1, 4_096 / max(1, positions))) { rows in
            for row in rows {
                let offset = bias?[row] ?? 0
                let destination = y + row * positions
                let first = partials + row * positions
                // One pass that reads each residual element before writing the output element
                // there: the residual may be the output buffer itself (see `multiplyBlock`), so
                // writing the sums first and finishing them in a second pass would lose it.
                for column in 0..<positions {
                    var sum = first[column] + offset
                    for part in 1..<parts { sum += first[part * partStride + column] }
                    if let residual { sum += residual[row * positions + column] }
                    destination[column] = FusedActivation.clamp(sum, low: low, high: high)
                }
                remaining?.apply(destination, count: positions)
            }
        }
    }

    private static func rankTwoOrPointwise(_ geometry: SlidingWindowGeometry) -> Bool {
        geometry.rank == 2 || geometry.isPointwise
    }

    /// `c[rows, 0..<columns] = activation(a[rows, :] * right + bias[rows] + residual[rows, :])`, one
    /// single-threaded sgemm and at most one more pass over the block.
    ///
    /// Where OpenBLAS takes its unpacked kernel, which writes C without reading it when `beta` is 0,
    /// sgemm writes the bare product and one pass per column block, right after sgemm wrote the
    /// block and while it is in L1, adds bias and residual and applies the activation (SqueezeNet
    /// at 2 threads: 2.77 -> 2.66 ms against one pass over the whole tile after the product).
    /// Starting that sgemm from `bias + residual` instead cost two more passes over the block (writing the start values, and sgemm reading them back), and a
    /// block of a large layer does not fit in L2 (MobileNetV2's 96 x 6,272 per thread at 112 x 112).
    /// The packed path zeroes C itself before accumulating into it, so there sgemm starts from
    /// `bias + residual` (`beta = 1`) and only a remaining activation takes a pass after it; so does
    /// a residual that is the output itself.
    private static func multiplyBlock(_ a: UnsafePointer<Float>, _ right: UnsafePointer<Float>, ldb: Int,
                                      _ bias: UnsafePointer<Float>?, _ residual: UnsafePointer<Float>?,
                                      _ c: UnsafeMutablePointer<Float>, ldc: Int,
                                      rows: Range<Int>, columns: Int, depth: Int, activation: FusedActivation?) {
        guard !rows.isEmpty, columns > 0 else { return }
        let residualIsOutput = residual.map { UnsafePointer(c) == $0 } ?? false
        let startFromSum = (bias != nil || residual != nil) && (residualIsOutput
            || MatrixMultiplication.unpackedPath(transposeB: false, m: rows.count, n: columns, k: depth) == nil)
        if startFromSum {
            for row in rows {
                let destination = c + row * ldc
                let offset = bias?[row] ?? 0
                if let residual {
                    let source = residual + row * ldc
                    for column in 0..<columns { destination[column] = source[column] + offset }
                } else {
                    destination.update(repeating: offset, count: columns)
                }
            }
        }
        let rowBias = startFromSum ? nil : bias
        let rowResidual = startFromSum ? nil : residual
        let finishes = rowBias != nil || rowResidual != nil || activation != nil
        let (low, high) = activation?.clampBounds ?? (-.infinity, .infinity)
        let remaining = activation?.unlessClamp
        // Bias, residual and activation for some columns of every row of the block.
        func finish(_ span: Range<Int>) {
            guard finishes else { return }
            for row in rows {
                let values = c + row * ldc + span.lowerBound
                let offset = rowBias?[row] ?? 0
                if let rowResidual {
                    let added = rowResidual + row * ldc + span.lowerBound
                    for column in 0..<span.count {
                        values[column] = FusedActivation.clamp(values[column] + offset + added[column], low: low, high: high)
                    }
                } else {
                    for column in 0..<span.count {
                        values[column] = FusedActivation.clamp(values[column] + offset, low: low, high: high)
                    }
                }
                remaining?.apply(values, count: span.count)
            }
        }
        if depth > 0 {
            // Sizes were range-checked by the caller. Where OpenBLAS's unpacked kernel takes the
            // product in column blocks, each block is finished right after it is written, while it
            // is in L1 (SqueezeNet's 64 x 96 blocks: 24 KiB), not after the whole tile (96 KiB).
            MatrixMultiplication.sgemm(transposeB: false, m: Int32(rows.count), n: Int32(columns), k: Int32(depth),
                                       alpha: 1, a: a + rows.lowerBound * depth, lda: Int32(depth), b: right,
                                       ldb: Int32(max(1, ldb)), beta: startFromSum ? 1 : 0,
                                       c: c + rows.lowerBound * ldc, ldc: Int32(ldc),
                                       finishColumns: finish)
        } else {
            if !startFromSum {
                for row in rows { (c + row * ldc).update(repeating: 0, count: columns) }
            }
            finish(0..<columns)
        }
    }
}

extension KernelScratch {
    /// `rows * columns`, checked against overflow and ``maximumFloats``.
    package static func checkedCount(rows: Int, columns: Int, purpose: String) throws -> Int {
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, count <= maximumFloats else {
            throw OperatorError("the \(purpose) buffer of \(rows) x \(columns) floats is too large")
        }
        return count
    }
}

extension ConvolutionKernels {
    /// im2col for 2-D geometries restricted to the output positions in `positions` (flattened
    /// `row * outputWidth + column`): row `(c * kernelHeight + tapRow) * kernelWidth + tapColumn` of
    /// `columns` holds, for each of those positions, the input value that tap reads (0 in padding).
    /// Rows are `leadingDimension` floats apart.
    package static func im2col2D(_ input: UnsafePointer<Float>, channels: Int, geometry: SlidingWindowGeometry,
                                 positions: Range<Int>, into columns: UnsafeMutablePointer<Float>,
                                 leadingDimension: Int) {
        guard !positions.isEmpty, geometry.rank == 2 else { return }
        let inputHeight = geometry.inputSize[0], inputWidth = geometry.inputSize[1]
        let outputWidth = geometry.outputSize[1]
        let kernelHeight = geometry.kernel[0], kernelWidth = geometry.kernel[1]
        let strideHeight = geometry.strides[0], strideWidth = geometry.strides[1]
        let dilationHeight = geometry.dilations[0], dilationWidth = geometry.dilations[1]
        let padTop = geometry.padsBegin[0], padLeft = geometry.padsBegin[1]
        let firstRow = positions.lowerBound / outputWidth, lastRow = (positions.upperBound - 1) / outputWidth
        let planeSize = inputHeight * inputWidth
        if strideHeight == 1 && strideWidth == 1 && outputWidth == inputWidth {
            im2colShiftedRuns(input, channels: channels, geometry: geometry, positions: positions, into: columns,
                              leadingDimension: leadingDimension)
            return
        }

        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * kernelWidth) { ranges in
            for tap in 0..<kernelWidth {
                let valid = geometry.validOutputRange(axis: 1, tap: tap)
                ranges[2 * tap] = valid.lowerBound
                ranges[2 * tap + 1] = valid.upperBound
            }
            if strideWidth == 2 && dilationWidth == 1 && kernelWidth > 1 {
                im2colStride2Rows(input, channels: channels, geometry: geometry, positions: positions,
                                  validColumns: UnsafePointer(ranges.baseAddress!), into: columns,
                                  leadingDimension: leadingDimension)
                return
            }
            for channel in 0..<channels {
                let plane = input + channel * planeSize
                for tapRow in 0..<kernelHeight {
                    for tapColumn in 0..<kernelWidth {
                        let row = (channel * kernelHeight + tapRow) * kernelWidth + tapColumn
                        let destination = columns + row * leadingDimension
                        let lower = ranges[2 * tapColumn], upper = ranges[2 * tapColumn + 1]
                        let columnOffset = tapColumn * dilationWidth - padLeft
                        for outputRow in firstRow...lastRow {
                            let rowStart = outputRow * outputWidth
                            let first = max(positions.lowerBound, rowStart) - rowStart
                            let last = min(positions.upperBound, rowStart + outputWidth) - rowStart
                            // segment[column] is output column `column` of this output row.
                            let segment = destination + (rowStart - positions.lowerBound)
                            let inputRow = outputRow * strideHeight + tapRow * dilationHeight - padTop
                            let low = max(first, lower), high = min(last, upper)
                            guard inputRow >= 0, inputRow < inputHeight, low < high else {
                                (segment + first).update(repeating: 0, count: last - first)
                                continue
                            }
                            (segment + first).update(repeating: 0, count: low - first)
                            (segment + high).update(repeating: 0, count: last - high)
                            let source = plane + inputRow * inputWidth + columnOffset
                            if strideWidth == 1 {
                                (segment + low).update(from: source + low, count: high - low)
                            } else {
                                for column in low..<high { segment[column] = source[column * strideWidth] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// ``im2col2D(_:channels:geometry:positions:into:leadingDimension:)`` for stride 1 with the
    /// output as wide as the input ("same" padding along the width: SqueezeNet's expand3x3 layers,
    /// the 3x3 layers that do not run Winograd). There output position `p` and the input element a
    /// tap reads are a fixed distance apart in the flattened plane (`tapRow * dilation - padTop`
    /// rows plus `tapColumn * dilation - padLeft` columns), so each tap's row of the tile is one
    /// copy of a contiguous run of the plane, after which the columns the tap reads from padding
    /// (which the run took from the neighbouring input row) and the rows above or below the plane
    /// are zeroed. Copying row by row took one `memmove` of about 55 floats per output row and
    /// tap: SqueezeNet's lowering cost about 30 µs per expand3x3 layer that way.
    private static func im2colShiftedRuns(_ input: UnsafePointer<Float>, channels: Int, geometry: SlidingWindowGeometry,
                                          positions: Range<Int>, into columns: UnsafeMutablePointer<Float>,
                                          leadingDimension: Int) {
        let height = geometry.inputSize[0], width = geometry.inputSize[1]
        let kernelHeight = geometry.kernel[0], kernelWidth = geometry.kernel[1]
        let dilationHeight = geometry.dilations[0], dilationWidth = geometry.dilations[1]
        let padTop = geometry.padsBegin[0], padLeft = geometry.padsBegin[1]
        let planeSize = height * width
        let start = positions.lowerBound, end = positions.upperBound
        let firstRow = start / width, lastRow = (end - 1) / width
        for tapRow in 0..<kernelHeight {
            let rowOffset = tapRow * dilationHeight - padTop
            // Output rows whose input row is inside the plane, as a range of the tile's positions.
            let validLow = max(start, max(0, -rowOffset) * width)
            let validHigh = min(end, max(0, min(geometry.outputSize[0], height - rowOffset)) * width)
            for tapColumn in 0..<kernelWidth {
                let columnOffset = tapColumn * dilationWidth - padLeft
                let shift = rowOffset * width + columnOffset
                // Columns of every output row that read padding: the first -columnOffset or the
                // last columnOffset (all of them when the offset is the width or more).
                let paddedColumns = min(width, abs(columnOffset))
                for channel in 0..<channels {
                    let plane = input + channel * planeSize
                    let row = (channel * kernelHeight + tapRow) * kernelWidth + tapColumn
                    let destination = columns + row * leadingDimension - start
                    guard validLow < validHigh else {
                        (destination + start).update(repeating: 0, count: end - start)
                        continue
                    }
                    (destination + start).update(repeating: 0, count: validLow - start)
                    (destination + validHigh).update(repeating: 0, count: end - validHigh)
                    // The source stays inside the plane; what is clipped here reads padding anyway.
                    let copyLow = max(validLow, -shift), copyHigh = min(validHigh, planeSize - shift)
                    (destination + validLow).update(repeating: 0, count: max(0, copyLow - validLow))
                    (destination + max(copyLow, copyHigh)).update(repeating: 0, count: max(0, validHigh - max(copyLow, copyHigh)))
                    if copyLow < copyHigh {
                        (destination + copyLow).update(from: plane + copyLow + shift, count: copyHigh - copyLow)
                    }
                    guard paddedColumns > 0 else { continue }
                    for outputRow in firstRow...lastRow {
                        let rowStart = outputRow * width
                        let low = columnOffset < 0 ? rowStart : rowStart + width - paddedColumns
                        let first = max(low, validLow), last = min(low + paddedColumns, validHigh)
                        if first < last { (destination + first).update(repeating: 0, count: last - first) }
                    }
                }
            }
        }
    }

    /// ``im2col2D(_:channels:geometry:positions:into:leadingDimension:)`` for stride 2 along the
    /// width with a kernel wider than 1 (the 7x7 and 3x3 stride-2 stems and downsampling layers):
    /// each input row a tile reads is split once into its even and odd columns, and every kernel
    /// column then copies one contiguous run from a half (`input[2c + offset]` is half `offset & 1`
    /// at `c + offset >> 1`). The strided gather it replaces does not vectorize at baseline SSE2.
    private static func im2colStride2Rows(_ input: UnsafePointer<Float>, channels: Int, geometry: SlidingWindowGeometry,
                                          positions: Range<Int>, validColumns ranges: UnsafePointer<Int>,
                                          into columns: UnsafeMutablePointer<Float>, leadingDimension: Int) {
        let inputHeight = geometry.inputSize[0], inputWidth = geometry.inputSize[1]
        let outputWidth = geometry.outputSize[1]
        let kernelHeight = geometry.kernel[0], kernelWidth = geometry.kernel[1]
        let strideHeight = geometry.strides[0], dilationHeight = geometry.dilations[0]
        let padTop = geometry.padsBegin[0], padLeft = geometry.padsBegin[1]
        let firstRow = positions.lowerBound / outputWidth, lastRow = (positions.upperBound - 1) / outputWidth
        let planeSize = inputHeight * inputWidth
        let evenCount = (inputWidth + 1) / 2

        withUnsafeTemporaryAllocation(of: Float.self, capacity: inputWidth + 1) { halves in
            let even = halves.baseAddress!, odd = even + evenCount
            for channel in 0..<channels {
                let plane = input + channel * planeSize
                for tapRow in 0..<kernelHeight {
                    for outputRow in firstRow...lastRow {
                        let rowStart = outputRow * outputWidth
                        let first = max(positions.lowerBound, rowStart) - rowStart
                        let last = min(positions.upperBound, rowStart + outputWidth) - rowStart
                        let inputRow = outputRow * strideHeight + tapRow * dilationHeight - padTop
                        let rowInside = inputRow >= 0 && inputRow < inputHeight
                        if rowInside {
                            EvenOddSplit.split(plane + inputRow * inputWidth, first: 0, last: inputWidth,
                                               paddedWidth: inputWidth, even: even, odd: odd)
                        }
                        for tapColumn in 0..<kernelWidth {
                            let row = (channel * kernelHeight + tapRow) * kernelWidth + tapColumn
                            // segment[column] is output column `column` of this output row.
                            let segment = columns + row * leadingDimension + (rowStart - positions.lowerBound)
                            let low = max(first, ranges[2 * tapColumn]), high = min(last, ranges[2 * tapColumn + 1])
                            guard rowInside, low < high else {
                                (segment + first).update(repeating: 0, count: last - first)
                                continue
                            }
                            (segment + first).update(repeating: 0, count: low - first)
                            (segment + high).update(repeating: 0, count: last - high)
                            let offset = tapColumn - padLeft
                            let half = UnsafePointer(offset & 1 == 0 ? even : odd) + (offset >> 1)
                            (segment + low).update(from: half + low, count: high - low)
                        }
                    }
                }
            }
        }
    }
}
