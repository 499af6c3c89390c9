import CBLAS

/// Convolution (group 1) writing channels-last output (`[batch, height, width, M]`) as matrix
/// products: `output[positions, M] = columns[positions, K] * weights[K, M]`, with the output positions
/// of every image as rows and the weights reordered once into `[K, M]`.
///
/// Channels-last turns a pointwise convolution into one product straight on the input (a pixel's
/// channels are a row), and the output comes out channels-last too, ready for the depthwise
/// kernel that usually follows (``DepthwiseChannelsLast``). Other kernels lower a tile of positions
/// at a time into rows of `K = kernelHeight * kernelWidth * channels` values.
///
/// How the product splits: OpenBLAS multiplies products of at most 10^6 multiply-adds without
/// packing either operand (``MatrixMultiplication/unpackedPath(transposeB:m:n:k:)``), and
/// MobileNetV2's layers have small `K x M`. So the positions go in tiles of as many rows as keep
/// a tile under that limit (at least 16), or, when even 16 rows do not fit but there are at most 64
/// positions (7x7 layers), the output channels go in blocks under the limit (or, when those would
/// be narrower than 48 channels, in blocks of 16 multiplying the stored W's contiguous rows
/// transposed).
///
/// Measured with single-threaded OpenBLAS 0.3.21 on this project's machine, `[P x K] x [K x M]`
/// tiled against NCHW's one `[M x K] x [K x P]` call: 3136 x 144 x 24 0.200 against 0.249 ms,
/// 12544 x 16 x 96 0.369 against 0.502, 12544 x 27 x 32 (MobileNetV2's stem, lowered) 0.198
/// against 0.266, 196 x 576 x 96 0.194 against 0.215; whole products with W transposed ran no
/// faster than NCHW. In MobileNetV2 at 2 threads, the 160 -> 960 layers at 7x7 ran 0.130 -> 0.103
/// ms in channel blocks of 112 rather than 16 and the 320 -> 1280 one 0.302 -> 0.251 in blocks of
/// 48, while the 960 -> 160 ones ran 0.093 -> 0.100 in blocks of 16 from the `[K, M]` matrix (its
/// strided rows come from memory) instead of W as stored.
/// Threads claim tiles or blocks as they come free, and bias, residual and activation are applied
/// to each while it is in cache.
package enum ChannelsLastGEMM {
    /// Floats of lowered input one tile may take when the product is too large to tile by the
    /// unpacked limit (256 KiB, as ``ConvolutionGEMM``).
    private static let tileFloats = 65_536

    /// Reorders W `[M, C, kernelHeight, kernelWidth]` into a `[K, M]` matrix whose row `k` is the
    /// weight of lowered column `k` for every output channel: `[kernelHeight, kernelWidth, C, M]` for
    /// a channels-last input, `[C, kernelHeight, kernelWidth, M]` (W transposed) for an NCHW one.
    package static func packWeights(_ weights: UnsafePointer<Float>, outputChannels: Int, channels: Int,
                                    kernelVolume: Int, inputChannelsLast: Bool, into packed: UnsafeMutablePointer<Float>) {
        let depth = channels * kernelVolume
        for output in 0..<outputChannels {
            let source = weights + output * depth
            for channel in 0..<channels {
                for tap in 0..<kernelVolume {
                    let row = inputChannelsLast ? tap * channels + channel : channel * kernelVolume + tap
                    packed[row * outputChannels + output] = source[channel * kernelVolume + tap]
                }
            }
        }
    }

    /// `y = activation(conv(x, w) + b + residual)`, `y` and the residual channels-last.
    /// - Parameters:
    ///   - inputChannelsLast: Whether `x` is channels-last; an NCHW `x` is lowered even when the
    ///     kernel is pointwise.
    ///   - weights: ``packWeights`` of W.
    ///   - storedWeights: W as stored.
    ///   - residual: Added before the activation (may be nil).
    package static func convolve(_ x: UnsafePointer<Float>, inputChannelsLast: Bool = true, weights: UnsafePointer<Float>,
                                 storedWeights: UnsafePointer<Float>,
                                 bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?,
                                 output y: UnsafeMutablePointer<Float>, outputStride: Int? = nil, batch: Int,
                                 channels: Int, outputChannels: Int, geometry: SlidingWindowGeometry,
                                 activation: FusedActivation?, context: ExecutionContext) throws {
        // Floats between output positions: more than the channels when writing into a wider
        // output (a branch of a ``KilnConcatConvolutions``), which takes no residual.
        let ldy = outputStride ?? outputChannels
        guard ldy >= outputChannels, residual == nil || ldy == outputChannels, Int32(exactly: ldy) != nil else {
            throw OperatorError("output stride \(ldy) does not fit \(outputChannels) channels\(residual == nil ? "" : " with a residual")")
        }
        let (positions, positionsOverflow) = batch.multipliedReportingOverflow(by: geometry.outputVolume)
        let depth = channels * geometry.kernelVolume
        guard !positionsOverflow, Int32(exactly: positions) != nil, Int32(exactly: depth) != nil,
              Int32(exactly: outputChannels) != nil,
              !depth.multipliedReportingOverflow(by: outputChannels).overflow
        else { throw OperatorError("convolution product [\(batch) x \(geometry.outputVolume) x \(depth)] x [\(depth) x \(outputChannels)] is too large for 32-bit BLAS") }
        guard positions > 0, outputChannels > 0 else { return }
        let inPlace = geometry.isPointwise && inputChannelsLast
        let threads = context.threads
        let epilogue = Epilogue(bias: bias, residual: residual, activation: activation, ldc: ldy)
        let split = Split(positions: positions, depth: depth, outputChannels: outputChannels, inPlace: inPlace,
                          threads: threads)

        if case .channelBlocks = split {
            // Blocks as wide as the unpacked limit allows, from the `[K, M]` matrix; when that is
            // under 48 channels (a long K), blocks of 16 from W as stored, whose rows are contiguous
            // (strided rows of the `[K, M]` matrix then cost more than the extra calls).
            let limitWidth = MatrixMultiplication.smallProductLimit / (positions * depth) / 16 * 16
            let fromStored = limitWidth < 48
            let width = fromStored ? 16 : limitWidth
            let blocks = (outputChannels + width - 1) / width
            context.parallelChunks(blocks) { _, blockRange in
                for block in blockRange {
                    let first = block * width, end = min(outputChannels, first + width)
                    if fromStored {
                        MatrixMultiplication.sgemm(transposeB: true, m: Int32(positions), n: Int32(end - first),
                                                   k: Int32(depth), alpha: 1, a: x, lda: Int32(depth),
                                                   b: storedWeights + first * depth, ldb: Int32(depth), beta: 0,
                                                   c: y + first, ldc: Int32(ldy))
                    } else {
                        MatrixMultiplication.sgemm(transposeB: false, m: Int32(positions), n: Int32(end - first),
                                                   k: Int32(depth), alpha: 1, a: x, lda: Int32(depth),
                                                   b: weights + first, ldb: Int32(outputChannels), beta: 0,
                                                   c: y + first, ldc: Int32(ldy))
                    }
                    epilogue.apply(y, residualOffset: 0, rows: positions, columns: first..<end)
                }
            }
            return
        }
        guard case .positionTiles(let tileRows) = split else { return }
        // An NCHW input is lowered by the NCHW im2col, one image at a time, into `[K, rows]`.
        let imagePositions = geometry.outputVolume
        let tilesPerImage = (imagePositions + tileRows - 1) / tileRows
        let tileCount = inputChannelsLast ? (positions + tileRows - 1) / tileRows : batch * tilesPerImage
        // One lowering buffer per thread, taken on the calling thread so a planned run serves it from
        // its arena.
        let buffers = inPlace ? nil
            : try KernelScratch.floats(rows: threads, columns: max(1, depth * tileRows), purpose: "channels-last im2col tiles")
        defer { KernelScratch.release(buffers) }
        context.parallelChunks(tileCount) { participant, tileRange in
            for tile in tileRange {
                if !inputChannelsLast, let buffers {
                    let image = tile / tilesPerImage
                    let first = tile % tilesPerImage * tileRows, end = min(imagePositions, first + tileRows)
                    let buffer = buffers + participant * max(1, depth * tileRows)
                    ConvolutionKernels.im2col2D(x + image * channels * geometry.inputVolume, channels: channels,
                                                geometry: geometry, positions: first..<end, into: buffer,
                                                leadingDimension: end - first)
                    let start = image * imagePositions + first
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(end - first), Int32(outputChannels),
                                Int32(depth), 1, buffer, Int32(end - first), weights, Int32(outputChannels), 0,
                                y + start * ldy, Int32(ldy))
                    epilogue.apply(y + start * ldy, residualOffset: start * outputChannels,
                                   rows: end - first, columns: 0..<outputChannels)
                    continue
                }
                let start = tile * tileRows, end = min(positions, start + tileRows)
                let left: UnsafePointer<Float>
                if let buffers {
                    let buffer = buffers + participant * max(1, depth * tileRows)
                    lower(x, channels: channels, geometry: geometry, positions: start..<end, into: buffer)
                    left = UnsafePointer(buffer)
                } else {
                    left = x + start * channels
                }
                MatrixMultiplication.sgemm(transposeB: false, m: Int32(end - start), n: Int32(outputChannels),
                                           k: Int32(depth), alpha: 1, a: left, lda: Int32(depth), b: weights,
                                           ldb: Int32(outputChannels), beta: 0, c: y + start * ldy,
                                           ldc: Int32(ldy))
                epilogue.apply(y + start * ldy, residualOffset: start * outputChannels,
                               rows: end - start, columns: 0..<outputChannels)
            }
        }
    }

    /// How a product of `positions x depth x outputChannels` is cut (see the type's notes).
    package enum Split: Equatable {
        /// Rows of output positions per tile.
        case positionTiles(Int)
        /// Blocks of output channels, every block over all positions (`x` read in place).
        case channelBlocks

        package init(positions: Int, depth: Int, outputChannels: Int, inPlace: Bool, threads: Int) {
            let limit = MatrixMultiplication.smallProductLimit
            let unpacked = MatrixMultiplication.hasUnpackedSmallKernels
            let rowProduct = depth * outputChannels
            let perThread = (positions + threads - 1) / threads
            if unpacked && rowProduct <= limit / 16 {
                // No more rows than one thread's share, so every thread gets tiles.
                self = .positionTiles(min(limit / rowProduct / 16 * 16, max(16, (perThread + 15) / 16 * 16)))
                return
            }
            if unpacked && inPlace && positions <= 64 && positions * depth <= limit / 16 {
                self = .channelBlocks
                return
            }
            // Packed products: one tile per thread when reading in place (sgemm packs the rows
            // anyway), else tiles whose lowering fits in L2.
            let fitting = inPlace ? perThread : max(16, tileFloats / max(1, depth) / 16 * 16)
            let tiles = threads * ((perThread + fitting - 1) / fitting)
            self = .positionTiles(max(1, (positions + tiles - 1) / tiles))
        }
    }

    /// Bias, residual and activation applied to a block of the output right after its product.
    private struct Epilogue {
        let bias: UnsafePointer<Float>?
        let residual: UnsafePointer<Float>?
        let activation: FusedActivation?
        let ldc: Int

        /// Rows `0..<rows` of `block` (rows `ldc` apart; the residual's rows start `residualOffset`
        /// floats into it), columns `columns`.
        func apply(_ block: UnsafeMutablePointer<Float>, residualOffset: Int, rows: Int, columns: Range<Int>) {
            guard bias != nil || residual != nil || activation != nil else { return }
            let (low, high) = activation?.clampBounds ?? (-.infinity, .infinity)
            let remaining = activation?.unlessClamp
            for row in 0..<rows {
                let values = block + row * ldc
                let added = residual.map { $0 + residualOffset + row * ldc }
                // Separate loops per case, so each vectorizes (one loop testing the optionals per
                // element ran MobileNetV2's expand layers 20-35% slower).
                switch (bias, added) {
                case let (bias?, added?):
                    for column in columns {
                        values[column] = FusedActivation.clamp(values[column] + bias[column] + added[column], low: low, high: high)
                    }
                case let (bias?, nil):
                    for column in columns {
                        values[column] = FusedActivation.clamp(values[column] + bias[column], low: low, high: high)
                    }
                case let (nil, added?):
                    for column in columns {
                        values[column] = FusedActivation.clamp(values[column] + added[column], low: low, high: high)
                    }
                case (nil, nil):
                    for column in columns { values[column] = FusedActivation.clamp(values[column], low: low, high: high) }
                }
                remaining?.apply(values + columns.lowerBound, count: columns.count)
            }
        }
    }

    /// Lowers output positions `positions` (flattened over the batch) of channels-last `x` into rows
    /// of `columns`: row `p - positions.lowerBound` holds, for each kernel tap `(tapRow, tapColumn)`
    /// in turn, the `channels` input values that tap reads (zeros in the padding).
    package static func lower(_ x: UnsafePointer<Float>, channels: Int, geometry: SlidingWindowGeometry,
                              positions: Range<Int>, into columns: UnsafeMutablePointer<Float>) {
        guard !positions.isEmpty else { return }
        let window = geometry.planar
        let depth = window.kernelHeight * window.kernelWidth * channels
        let imagePositions = window.outputHeight * window.outputWidth
        // Walk the positions by counters; a division per position cost more than the copies.
        var image = positions.lowerBound / imagePositions
        var outputRow = positions.lowerBound % imagePositions / window.outputWidth
        var outputColumn = positions.lowerBound % window.outputWidth
        for position in positions {
            let row = columns + (position - positions.lowerBound) * depth
            let imageInput = x + image * window.inputHeight * window.inputWidth * channels
            let firstColumn = outputColumn * window.strideWidth - window.padLeft
            let lastColumn = firstColumn + (window.kernelWidth - 1) * window.dilationWidth
            for tapRow in 0..<window.kernelHeight {
                let destination = row + tapRow * window.kernelWidth * channels
                let y = outputRow * window.strideHeight - window.padTop + tapRow * window.dilationHeight
                guard y >= 0 && y < window.inputHeight else {
                    destination.update(repeating: 0, count: window.kernelWidth * channels)
                    continue
                }
                let inputRow = imageInput + y * window.inputWidth * channels
                if window.dilationWidth == 1 && firstColumn >= 0 && lastColumn < window.inputWidth {
                    // The kernel row's taps are adjacent pixels: one contiguous run.
                    copy(inputRow + firstColumn * channels, to: destination, count: window.kernelWidth * channels)
                    continue
                }
                for tapColumn in 0..<window.kernelWidth {
                    let column = firstColumn + tapColumn * window.dilationWidth
                    let tapDestination = destination + tapColumn * channels
                    if column >= 0 && column < window.inputWidth {
                        copy(inputRow + column * channels, to: tapDestination, count: channels)
                    } else {
                        tapDestination.update(repeating: 0, count: channels)
                    }
                }
            }
            outputColumn += 1
            if outputColumn == window.outputWidth {
                outputColumn = 0
                outputRow += 1
                if outputRow == window.outputHeight {
                    outputRow = 0
                    image += 1
                }
            }
        }
    }

    /// A plain loop: the runs are short (9 floats for a 3-channel stem), where a call to `memmove`
    /// costs more than the copy.
    @inline(__always)
    private static func copy(_ source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, count: Int) {
        for index in 0..<count { destination[index] = source[index] }
    }
}
