import Foundation

/// Winograd F(4x4, 3x3) and F(2x2, 3x3) on channels-last data, for AVX-512 builds: a 3x3 stride-1
/// convolution as 36 (or 16) matrix products of (tiles x channels) by (channels x output
/// channels), a quarter (or 1/2.25) of the direct kernel's multiplications, with the same
/// interpolation points and matrices as ``WinogradF4Kernels`` and ``WinogradKernels`` (the NCHW
/// versions, which run their products on OpenBLAS).
///
/// Channels-last makes both transforms vector code: a tile's 36 inputs of 16 consecutive channels
/// are 36 vector loads, and its 36 products of 16 consecutive output channels 36 more, so every
/// addition of a transform works on 16 channels at once.
///
/// Work is cut into bands of tiles (a few dozen, so that a band's transformed input `V` and
/// products `M` stay in the core's L2) and, when there are fewer bands than threads, groups of
/// 64-column panels of the output. Each item transforms its band's input (once per thread and
/// band), runs its products on ``BroadcastBlockKernel`` (rows are tiles, columns output channels)
/// and transforms them back into the output, adding the bias and residual and applying the
/// activation on the way, while all of it is in cache.
///
/// Layouts (`positions` is 36 or 16): `U` (the transformed weights) is `[positions,
/// outputChannels / 64, channels, 64]`, so each position's panel is what
/// ``BroadcastBlockKernel/block6(_:channels:tapOffsets:taps:weights:bias:bounds:residuals:outputs:)``
/// reads; a band's `V` is `[positions, tiles, channels]` and its `M` `[positions, tiles, 64 x panels]`.
package enum WinogradChannelsLast {
    typealias Vector = BroadcastBlockKernel.Vector
    static let panelWidth = BroadcastBlockKernel.columns
    static let lanes = Vector.scalarCount

    /// The output tile: F(4x4, 3x3) (6x6 input tiles, 36 products, 4x fewer multiplications than
    /// direct) or F(2x2, 3x3) (4x4 input tiles, 16 products, 2.25x fewer). F(2x2)'s transformed
    /// weights are 16/9 of W's size where F(4x4)'s are 4x, which decides layers whose products are
    /// too short to hide reading them (see ``tile(batch:channels:outputChannels:geometry:)``).
    package enum Tile: Sendable {
        case f2x2, f4x4

        /// Output positions along each side of a tile.
        package var outputSize: Int { self == .f4x4 ? 4 : 2 }
        /// Input positions along each side: the output's plus the kernel's 2.
        package var inputSize: Int { outputSize + 2 }
        /// Products per tile (input positions).
        package var positions: Int { inputSize * inputSize }

        /// The value of ``PackWeightsPass``'s attribute on a `Conv` whose W the file stores as
        /// this tile's `U`.
        package var storedWeightsAttribute: Int { self == .f4x4 ? 2 : 3 }

        package init?(storedWeightsAttribute value: Int) {
            switch value {
            case 2: self = .f4x4
            case 3: self = .f2x2
            default: return nil
            }
        }

        /// Tiles of one image.
        func count(_ geometry: SlidingWindowGeometry) -> Int {
            let size = outputSize
            return ((geometry.outputSize[0] + size - 1) / size) * ((geometry.outputSize[1] + size - 1) / size)
        }

        /// Tiles along the output's width.
        func columns(_ geometry: SlidingWindowGeometry) -> Int { (geometry.outputSize[1] + outputSize - 1) / outputSize }

        /// The rows of `Bᵀ` applied to the `inputSize` vectors `d[0], d[dStride], ...`, written
        /// `stride` floats apart.
        /// F(4x4): `Bᵀ = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
        /// [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]`;
        /// F(2x2): `Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]`.
        @inline(__always)
        func applyBTransposed(_ d: UnsafePointer<Vector>, dStride: Int, into out: UnsafeMutablePointer<Float>, stride: Int) {
            if self == .f2x2 {
                let d0 = d[0], d1 = d[dStride], d2 = d[2 * dStride], d3 = d[3 * dStride]
                out.storeVector(d0 - d2)
                (out + stride).storeVector(d1 + d2)
                (out + 2 * stride).storeVector(d2 - d1)
                (out + 3 * stride).storeVector(d1 - d3)
                return
            }
            let d0 = d[0], d1 = d[dStride], d2 = d[2 * dStride], d3 = d[3 * dStride], d4 = d[4 * dStride]
            let d5 = d[5 * dStride]
            let four = Vector(repeating: 4), five = Vector(repeating: 5), two = Vector(repeating: 2)
            out.storeVector(four * d0 - five * d2 + d4)
            (out + stride).storeVector((d3 + d4) - four * (d1 + d2))
            (out + 2 * stride).storeVector((d4 - d3) + four * (d1 - d2))
            (out + 3 * stride).storeVector((d4 - d2) + two * (d3 - d1))
            (out + 4 * stride).storeVector((d4 - d2) - two * (d3 - d1))
            (out + 5 * stride).storeVector(four * d1 - five * d3 + d5)
        }

        /// The rows of `Aᵀ` applied to the `inputSize` vectors at `m`, `m + mStride`, ... (floats),
        /// written to `out[0], out[stride], ...`.
        /// F(4x4): `Aᵀ = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]`;
        /// F(2x2): `Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]]`.
        @inline(__always)
        func applyATransposed(_ m: UnsafePointer<Float>, mStride: Int, into out: UnsafeMutablePointer<Vector>, stride: Int) {
            let m0: Vector = m.loadVector(), m1: Vector = (m + mStride).loadVector()
            let m2: Vector = (m + 2 * mStride).loadVector(), m3: Vector = (m + 3 * mStride).loadVector()
            if self == .f2x2 {
                out[0] = m0 + m1 + m2
                out[stride] = m1 - m2 - m3
                return
            }
            let m4: Vector = (m + 4 * mStride).loadVector(), m5: Vector = (m + 5 * mStride).loadVector()
            let sum12 = m1 + m2, difference12 = m1 - m2, sum34 = m3 + m4, difference34 = m3 - m4
            out[0] = m0 + sum12 + sum34
            out[stride] = difference12 + 2 * difference34
            out[2 * stride] = sum12 + 4 * sum34
            out[3 * stride] = difference12 + 8 * difference34 + m5
        }

        /// The rows of `G` applied to `(a, b, c)`, written `stride` vectors apart.
        /// F(4x4): `G = [[1/4, 0, 0], [-1/6, -1/6, -1/6], [-1/6, 1/6, -1/6], [1/24, 1/12, 1/6],
        /// [1/24, -1/12, 1/6], [0, 0, 1]]`; F(2x2): `G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]`.
        @inline(__always)
        func applyG(_ a: Vector, _ b: Vector, _ c: Vector, into out: UnsafeMutablePointer<Vector>, stride: Int) {
            if self == .f2x2 {
                out[0] = a
                out[stride] = (a + b + c) * 0.5
                out[2 * stride] = (a - b + c) * 0.5
                out[3 * stride] = c
                return
            }
            let sixth = Vector(repeating: 1 / 6), twelfth = Vector(repeating: 1 / 12), twentyFourth = Vector(repeating: 1 / 24)
            out[0] = a * 0.25
            out[stride] = -(a + b + c) * sixth
            out[2 * stride] = -(a - b + c) * sixth
            out[3 * stride] = a * twentyFourth + b * twelfth + c * sixth
            out[4 * stride] = a * twentyFourth - b * twelfth + c * sixth
            out[5 * stride] = c
        }
    }

    /// Whether this build runs the kernel: AVX-512 (``BuildTarget``), and not turned off with
    /// `KILN_WINOGRAD=0` (which turns off the NCHW Winograd kernels too; `KILN_WINOGRAD=2` keeps
    /// only F(2x2), as it does there).
    package static var isAvailable: Bool { BuildTarget.hasAVX512 && mode != "0" }
    private static let mode = ProcessInfo.processInfo.environment["KILN_WINOGRAD"]

    /// Whether the kernel can compute this convolution at all (in any build): 3x3, stride 1,
    /// dilation 1, 2-D, channels in whole vectors and output channels in whole panels.
    package static func supports(channels: Int, outputChannels: Int, geometry: SlidingWindowGeometry) -> Bool {
        geometry.rank == 2 && geometry.kernel == [3, 3] && geometry.strides == [1, 1] && geometry.dilations == [1, 1]
            && channels > 0 && channels % lanes == 0 && outputChannels > 0 && outputChannels % panelWidth == 0
    }

    /// The tile `Conv` runs this convolution with here, or nil for the direct kernel: a build that
    /// has it, and at least ``minimumTiles`` tiles, so that each position's panel of the
    /// transformed weights is used by enough rows to be worth reading. F(4x4) where it has that
    /// many tiles, else F(2x2). Measured per layer of ResNet-50 at 2 threads, batch 1 (Zen 5,
    /// against the direct kernel): F(4x4) 0.47 -> 0.25 ms at 56x56 (196 tiles), 0.48 -> 0.24 at
    /// 28x28 (49), but 0.51 -> 0.64 at 14x14 (16 tiles, 256 channels): its 9.4 MB of transformed
    /// weights come from memory on every run, for products 16 rows long.
    package static func tile(batch: Int, channels: Int, outputChannels: Int, geometry: SlidingWindowGeometry) -> Tile? {
        guard isAvailable else { return nil }
        return preferredTile(batch: batch, channels: channels, outputChannels: outputChannels, geometry: geometry)
    }

    /// ``tile(batch:channels:outputChannels:geometry:)`` in a build that has the kernel: what
    /// ``PackWeightsPass`` asks (at batch 1) when it decides to store a node's W transformed.
    package static func preferredTile(batch: Int, channels: Int, outputChannels: Int,
                                      geometry: SlidingWindowGeometry) -> Tile? {
        guard supports(channels: channels, outputChannels: outputChannels, geometry: geometry) else { return nil }
        if mode != "2" && batch * Tile.f4x4.count(geometry) >= minimumTiles { return .f4x4 }
        return batch * Tile.f2x2.count(geometry) >= minimumTiles ? .f2x2 : nil
    }

    /// `KILN_WINOGRAD_CL_MIN_TILES` overrides it (for measuring).
    private static let minimumTiles = ProcessInfo.processInfo.environment["KILN_WINOGRAD_CL_MIN_TILES"].flatMap { Int($0) } ?? 32

    /// Floats of `U`.
    package static func transformedWeightFloats(tile: Tile, channels: Int, outputChannels: Int) -> Int {
        tile.positions * channels * outputChannels
    }

    // MARK: Weights

    /// `U = G g Gᵀ` for every (output channel, channel) pair of W, written as `[positions,
    /// outputChannels / 64, channels, 64]`. W is `[outputChannels, channels, 3, 3]` (ONNX), or, when
    /// `directLayout`, in ``DirectConvolutionChannelsLast/packWeights(_:outputChannels:channels:kernelVolume:groups:into:)``'s
    /// `[outputChannels / 64, 9, channels, 64]` (a file converted for the direct kernel). Spread over
    /// `context`'s threads by (panel, channel).
    package static func transformWeights(_ w: UnsafePointer<Float>, directLayout: Bool, tile: Tile, channels: Int,
                                         outputChannels: Int, into u: UnsafeMutablePointer<Float>,
                                         context: ExecutionContext) {
        let panels = outputChannels / panelWidth
        let size = tile.inputSize
        context.parallelFor(panels * channels, minimumChunk: 16) { range in
            StackScratch.withVectors(9 + 3 * size + size) { scratch in
                let g = scratch, t = g + 9, out = t + 3 * size
                for item in range {
                    let panel = item / channels, channel = item % channels
                    for slice in 0..<panelWidth / lanes {
                        let firstLane = panel * panelWidth + slice * lanes
                        for tap in 0..<9 {
                            if directLayout {
                                g[tap] = (w + ((panel * 9 + tap) * channels + channel) * panelWidth + slice * lanes).loadVector()
                            } else {
                                var value = Vector()
                                for lane in 0..<lanes { value[lane] = w[((firstLane + lane) * channels + channel) * 9 + tap] }
                                g[tap] = value
                            }
                        }
                        // t = G g (size x 3), then U = t Gᵀ (size x size).
                        for column in 0..<3 {
                            tile.applyG(g[column], g[3 + column], g[6 + column], into: t + column, stride: 3)
                        }
                        for row in 0..<size {
                            tile.applyG(t[3 * row], t[3 * row + 1], t[3 * row + 2], into: out, stride: 1)
                            for column in 0..<size {
                                let position = size * row + column
                                (u + ((position * panels + panel) * channels + channel) * panelWidth + slice * lanes)
                                    .storeVector(out[column])
                            }
                        }
                    }
                }
            }
        }
    }

    /// The inverse of ``transformWeights(_:directLayout:tile:channels:outputChannels:into:context:)``:
    /// W `[outputChannels, channels, 3, 3]` back from `U`, for a build that does not run this kernel
    /// and reads a file whose weights were transformed when it was converted (``PackWeightsPass``).
    /// `U = G g Gᵀ`, and three rows of `G` (F(4x4): 0, 1 and 5; F(2x2): 0, 1 and 3) form an
    /// invertible matrix, so `g` comes back from those rows and columns of `U` alone, exact up to
    /// rounding (relative errors near 1e-7).
    package static func untransformWeights(_ u: UnsafePointer<Float>, tile: Tile, channels: Int, outputChannels: Int,
                                           into w: UnsafeMutablePointer<Float>) {
        let panels = outputChannels / panelWidth
        let size = tile.inputSize
        // The rows of U used, and g from them: F(4x4) u0 = g0/4, u1 = -(g0+g1+g2)/6, u5 = g2;
        // F(2x2) u0 = g0, u1 = (g0+g1+g2)/2, u3 = g2.
        let rows = tile == .f4x4 ? (0, 1, 5) : (0, 1, 3)
        func solve(_ a: Float, _ b: Float, _ c: Float) -> (Float, Float, Float) {
            tile == .f4x4 ? (4 * a, -4 * a - 6 * b - c, c) : (a, 2 * b - a - c, c)
        }
        for outputChannel in 0..<outputChannels {
            let panel = outputChannel / panelWidth, lane = outputChannel % panelWidth
            for channel in 0..<channels {
                func value(_ row: Int, _ column: Int) -> Float {
                    u[(((size * row + column) * panels + panel) * channels + channel) * panelWidth + lane]
                }
                // Down the chosen columns first (t = Gs⁻¹ Us, 3x3), then along t's rows (g = t Gs⁻ᵀ).
                let g = w + (outputChannel * channels + channel) * 9
                var t: (Float, Float, Float, Float, Float, Float, Float, Float, Float) = (0, 0, 0, 0, 0, 0, 0, 0, 0)
                withUnsafeMutableBytes(of: &t) { raw in
                    let t = raw.bindMemory(to: Float.self)
                    for (index, column) in [rows.0, rows.1, rows.2].enumerated() {
                        let (g0, g1, g2) = solve(value(rows.0, column), value(rows.1, column), value(rows.2, column))
                        t[index] = g0
                        t[3 + index] = g1
                        t[6 + index] = g2
                    }
                    for row in 0..<3 {
                        (g[3 * row], g[3 * row + 1], g[3 * row + 2]) = solve(t[3 * row], t[3 * row + 1], t[3 * row + 2])
                    }
                }
            }
        }
    }

    // MARK: Convolution

    /// How the tiles and panels are cut into items.
    struct Plan {
        let tilesPerBand: Int
        let bands: Int
        let panelsPerGroup: Int
        let groups: Int
        /// Floats of one band's `V` and `M`.
        let vFloats: Int
        let mFloats: Int

        init(tile: Tile, tiles: Int, channels: Int, panels: Int, threads: Int) {
            // Bands of at most 36 tiles, V and M of a band under 1 MiB (the L2): ResNet-50's 28x28
            // layers ran 0.30 ms with 24-tile bands against 0.23 with 25 (two bands), 0.25 with 49.
            let limit = max(6, min(36, (1 << 18) / (tile.positions * (channels + panelWidth))))
            bands = max(1, (tiles + limit - 1) / limit)
            tilesPerBand = (tiles + bands - 1) / bands
            // Fewer bands than threads: split the output channels too (each group transforms its
            // band's input again). With exactly one band per thread, splitting them as well made
            // the 28x28 layers slower (0.24 -> 0.28 ms): the input was transformed twice.
            let wanted = bands >= threads ? 1 : min(panels, (threads + bands - 1) / bands)
            panelsPerGroup = (panels + wanted - 1) / wanted
            groups = (panels + panelsPerGroup - 1) / panelsPerGroup
            vFloats = tile.positions * tilesPerBand * channels
            mFloats = tile.positions * tilesPerBand * panelsPerGroup * panelWidth
        }
    }

    /// `y = activation(conv(x, w) + b + residual)`, all channels-last; `u` is
    /// ``transformWeights(_:directLayout:tile:channels:outputChannels:into:context:)``'s for `tile`.
    /// Output positions are `outputStride` floats apart (at least `outputChannels`), the residual's
    /// `outputChannels`.
    package static func convolve(_ x: UnsafePointer<Float>, u: UnsafePointer<Float>, tile: Tile, bias: UnsafePointer<Float>?,
                                 residual: UnsafePointer<Float>?, output y: UnsafeMutablePointer<Float>,
                                 outputStride: Int, batch: Int, channels: Int, outputChannels: Int,
                                 geometry: SlidingWindowGeometry, activation: FusedActivation?,
                                 context: ExecutionContext) throws {
        guard supports(channels: channels, outputChannels: outputChannels, geometry: geometry) else {
            throw OperatorError("the channels-last Winograd convolution needs a 3x3 kernel, stride 1, dilation 1, a multiple of \(lanes) channels and of \(panelWidth) output channels; got \(channels) -> \(outputChannels), kernel \(geometry.kernel), strides \(geometry.strides)")
        }
        let tiles = batch * tile.count(geometry)
        guard tiles > 0 else { return }
        let panels = outputChannels / panelWidth
        let plan = Plan(tile: tile, tiles: tiles, channels: channels, panels: panels, threads: context.threads)
        let items = plan.bands * plan.groups
        let participants = min(context.threads, items)
        let itemFloats = plan.vFloats + plan.mFloats
        let scratch = try KernelScratch.floats(rows: participants, columns: itemFloats, purpose: "Winograd tiles")
        defer { KernelScratch.release(scratch) }
        let output = OutputPlacement(tile: tile, geometry: geometry, outputChannels: outputChannels,
                                     outputStride: outputStride, bias: bias, residual: residual, activation: activation)
        BroadcastBlockKernel.noBounds.withUnsafeBufferPointer { bounds in
            let bounds = bounds.baseAddress!
            context.parallelChunks(items) { participant, range in
                let v = scratch + participant * itemFloats, m = v + plan.vFloats
                var transformedBand = -1
                for item in range {
                    let band = item / plan.groups, group = item % plan.groups
                    let firstTile = band * plan.tilesPerBand
                    let count = min(plan.tilesPerBand, tiles - firstTile)
                    guard count > 0 else { continue }
                    if band != transformedBand {
                        transformInput(x, tile: tile, channels: channels, geometry: geometry,
                                       tiles: firstTile..<firstTile + count,
                                       positionStride: plan.tilesPerBand * channels, into: v)
                        transformedBand = band
                    }
                    let firstPanel = group * plan.panelsPerGroup
                    let panelRange = firstPanel..<min(panels, firstPanel + plan.panelsPerGroup)
                    let mRowFloats = plan.panelsPerGroup * panelWidth
                    multiply(v, u: u, positions: tile.positions, tiles: count, channels: channels, panels: panels,
                             panelRange: panelRange, vPositionStride: plan.tilesPerBand * channels,
                             mRowFloats: mRowFloats, mPositionStride: plan.tilesPerBand * mRowFloats,
                             bounds: bounds, into: m)
                    output.transform(m, tiles: firstTile..<firstTile + count, panelRange: panelRange,
                                     rowFloats: mRowFloats, positionStride: plan.tilesPerBand * mRowFloats, y: y)
                }
            }
        }
    }

    /// `V = Bᵀ d B` for the tiles `tiles` (numbered across the batch), written to `v` as
    /// `[positions, tiles, channels]` with positions `positionStride` floats apart. Inputs outside
    /// the image read as zero.
    static func transformInput(_ x: UnsafePointer<Float>, tile: Tile, channels: Int, geometry: SlidingWindowGeometry,
                               tiles: Range<Int>, positionStride: Int, into v: UnsafeMutablePointer<Float>) {
        let height = geometry.inputSize[0], width = geometry.inputSize[1]
        let tileColumns = tile.columns(geometry), tilesPerImage = tile.count(geometry)
        let padTop = geometry.padsBegin[0], padLeft = geometry.padsBegin[1]
        let size = tile.inputSize, step = tile.outputSize
        let rowFloats = width * channels
        StackScratch.withVectors(size + size * size) { buffer in
            let d = buffer, e = d + size
            let eFloats = UnsafeMutableRawPointer(e).assumingMemoryBound(to: Float.self)
            for number in tiles {
                let image = number / tilesPerImage, index = number % tilesPerImage
                let top = step * (index / tileColumns) - padTop, left = step * (index % tileColumns) - padLeft
                let imageInput = x + image * height * rowFloats
                let inside = top >= 0 && left >= 0 && top + size <= height && left + size <= width
                let target = v + (number - tiles.lowerBound) * channels
                var channel = 0
                while channel < channels {
                    // Columns first: e[row][column] = (Bᵀ d)[row][column], one input column at a time.
                    for column in 0..<size {
                        let inputColumn = left + column
                        let base = imageInput + (top * width + inputColumn) * channels + channel
                        if inside {
                            for row in 0..<size { d[row] = (base + row * rowFloats).loadVector() }
                        } else if inputColumn >= 0 && inputColumn < width {
                            for row in 0..<size {
                                d[row] = top + row >= 0 && top + row < height ? (base + row * rowFloats).loadVector() : Vector()
                            }
                        } else {
                            for row in 0..<size { d[row] = Vector() }
                        }
                        tile.applyBTransposed(d, dStride: 1, into: eFloats + column * lanes, stride: size * lanes)
                    }
                    // Then rows: V[row][column] = (e B)[row][column].
                    for row in 0..<size {
                        tile.applyBTransposed(e + size * row, dStride: 1,
                                              into: target + size * row * positionStride + channel, stride: positionStride)
                    }
                    channel += lanes
                }
            }
        }
    }

    /// `M[p] = V[p] U[p]` for the `positions` positions `p` and the panels `panelRange`: `tiles` rows
    /// of `V` (`channels` each) by each panel, into `M`'s rows of `mRowFloats` (the group's panels
    /// side by side).
    static func multiply(_ v: UnsafePointer<Float>, u: UnsafePointer<Float>, positions: Int, tiles: Int, channels: Int,
                         panels: Int, panelRange: Range<Int>, vPositionStride: Int, mRowFloats: Int,
                         mPositionStride: Int, bounds: UnsafePointer<Vector>, into m: UnsafeMutablePointer<Float>) {
        let blockRows = BroadcastBlockKernel.rows
        let rowBlocks = (tiles + blockRows - 1) / blockRows
        let tapOffset = 0
        withUnsafePointer(to: tapOffset) { tapOffset in
            BroadcastBlockKernel.withRowSlots { inputs, outputs, _ in
                for position in 0..<positions {
                    let a = v + position * vPositionStride, c = m + position * mPositionStride
                    for panel in panelRange {
                        let weights = u + ((position * panels + panel) * channels) * panelWidth
                        let column = (panel - panelRange.lowerBound) * panelWidth
                        for rowBlock in 0..<rowBlocks {
                            // Rows past the band's last tile read its row again and are not stored.
                            let first = rowBlock * blockRows
                            for slot in 0..<blockRows {
                                let row = first + slot
                                inputs[slot] = a + min(row, tiles - 1) * channels
                                outputs[slot] = row < tiles ? c + row * mRowFloats + column : nil
                            }
                            BroadcastBlockKernel.block6(inputs, channels: channels, tapOffsets: tapOffset, taps: 1,
                                                        weights: weights, bias: nil, bounds: bounds, residuals: nil,
                                                        outputs: outputs)
                        }
                    }
                }
            }
        }
    }

    /// Where the output transform writes, and what it adds on the way.
    struct OutputPlacement {
        let tile: Tile
        let outputHeight: Int
        let outputWidth: Int
        let tileColumns: Int
        let tilesPerImage: Int
        let outputChannels: Int
        let outputStride: Int
        let bias: UnsafePointer<Float>?
        let residual: UnsafePointer<Float>?
        let low: Vector
        let high: Vector
        /// What is left of the activation after the clamp (applied to each stored run of 16).
        let remaining: FusedActivation?

        init(tile: Tile, geometry: SlidingWindowGeometry, outputChannels: Int, outputStride: Int,
             bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?, activation: FusedActivation?) {
            self.tile = tile
            outputHeight = geometry.outputSize[0]
            outputWidth = geometry.outputSize[1]
            tileColumns = tile.columns(geometry)
            tilesPerImage = tile.count(geometry)
            self.outputChannels = outputChannels
            self.outputStride = outputStride
            self.bias = bias
            self.residual = residual
            let (low, high) = activation?.clampBounds ?? (-.infinity, .infinity)
            self.low = Vector(repeating: low)
            self.high = Vector(repeating: high)
            remaining = activation?.unlessClamp
        }

        /// `Y = Aᵀ M A` for `tiles` and the panels `panelRange`, whose products are `M`'s rows of
        /// `rowFloats` (one per tile of the band), positions `positionStride` floats apart.
        func transform(_ m: UnsafePointer<Float>, tiles: Range<Int>, panelRange: Range<Int>, rowFloats: Int,
                       positionStride: Int, y: UnsafeMutablePointer<Float>) {
            let size = tile.inputSize, step = tile.outputSize
            StackScratch.withVectors(step * size + step) { buffer in
                let s = buffer, out = s + step * size
                for number in tiles {
                    let image = number / tilesPerImage, index = number % tilesPerImage
                    let top = step * (index / tileColumns), left = step * (index % tileColumns)
                    let rows = min(step, outputHeight - top), columns = min(step, outputWidth - left)
                    let row = m + (number - tiles.lowerBound) * rowFloats
                    let firstPosition = (image * outputHeight + top) * outputWidth + left
                    for panel in panelRange {
                        for slice in 0..<panelWidth / lanes {
                            let channel = panel * panelWidth + slice * lanes
                            let products = row + (panel - panelRange.lowerBound) * panelWidth + slice * lanes
                            // Columns first: s[r][column] = (Aᵀ M)[r][column].
                            for column in 0..<size {
                                tile.applyATransposed(products + column * positionStride, mStride: size * positionStride,
                                                      into: s + column, stride: size)
                            }
                            let b: Vector = bias.map { ($0 + channel).loadVector() } ?? Vector()
                            for r in 0..<rows {
                                let t = UnsafeRawPointer(s + size * r).assumingMemoryBound(to: Float.self)
                                tile.applyATransposed(t, mStride: lanes, into: out, stride: 1)
                                for c in 0..<columns {
                                    let position = firstPosition + r * outputWidth + c
                                    var value = out[c] + b
                                    if let residual {
                                        value += (residual + position * outputChannels + channel).loadVector()
                                    }
                                    value = value.replacing(with: low, where: value .< low)
                                        .replacing(with: high, where: value .> high)
                                    let target = y + position * outputStride + channel
                                    target.storeVector(value)
                                    remaining?.apply(target, count: lanes)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
