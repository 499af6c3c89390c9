import Foundation

/// Winograd F(4x4, 3x3) on channels-last data, for AVX-512 builds: a 3x3 stride-1 convolution as
/// 36 matrix products of (tiles x channels) by (channels x output channels), a quarter of the
/// direct kernel's multiplications, with the same interpolation points and matrices as
/// ``WinogradF4Kernels`` (the NCHW version, which runs its products on OpenBLAS).
///
/// Channels-last makes both transforms vector code: a tile's 36 inputs of 16 consecutive channels
/// are 36 vector loads, and its 36 products of 16 consecutive output channels 36 more, so every
/// addition of a transform works on 16 channels at once.
///
/// Work is cut into bands of tiles (a few dozen, so that a band's transformed input `V` and
/// products `M` stay in the core's L2) and, when there are too few bands to keep the threads busy,
/// groups of 64-column panels of the output. Each item transforms its band's input (once per
/// thread and band), runs its products on ``BroadcastBlockKernel`` (rows are tiles, columns output
/// channels) and transforms them back into the output, adding the bias and residual and applying
/// the activation on the way, while all of it is in cache.
///
/// Layouts: `U` (the transformed weights) is `[36, outputChannels / 64, channels, 64]`, so each
/// position's panel is what ``BroadcastBlockKernel/block6(_:channels:tapOffsets:taps:weights:bias:bounds:residuals:outputs:)``
/// reads; a band's `V` is `[36, tiles, channels]` and its `M` `[36, tiles, 64 x panels]`.
package enum WinogradChannelsLast {
    typealias Vector = BroadcastBlockKernel.Vector
    /// Positions of a 6x6 tile.
    static let positions = 36
    static let panelWidth = BroadcastBlockKernel.columns
    static let lanes = Vector.scalarCount

    /// Whether this build runs the kernel: AVX-512 (``BuildTarget``), and not turned off with
    /// `KILN_WINOGRAD=0` (which turns off the NCHW Winograd kernels too).
    package static var isAvailable: Bool { BuildTarget.hasAVX512 && enabled }
    private static let enabled = ProcessInfo.processInfo.environment["KILN_WINOGRAD"] != "0"

    /// Whether the kernel can compute this convolution at all (in any build): 3x3, stride 1,
    /// dilation 1, 2-D, channels in whole vectors and output channels in whole panels.
    package static func supports(channels: Int, outputChannels: Int, geometry: SlidingWindowGeometry) -> Bool {
        geometry.rank == 2 && geometry.kernel == [3, 3] && geometry.strides == [1, 1] && geometry.dilations == [1, 1]
            && channels > 0 && channels % lanes == 0 && outputChannels > 0 && outputChannels % panelWidth == 0
    }

    /// Whether `Conv` runs this convolution here rather than on the direct kernel: a build that has
    /// it, and enough 4x4 tiles per output channel panel for the products to run near the FMA peak
    /// and for the transformed weights (4x the size of W) to be read from memory no more slowly
    /// than the direct kernel computes. ``minimumTiles`` is measured per layer of the ResNets.
    package static func applies(batch: Int, channels: Int, outputChannels: Int, geometry: SlidingWindowGeometry) -> Bool {
        guard isAvailable, supports(channels: channels, outputChannels: outputChannels, geometry: geometry) else {
            return false
        }
        return batch * tileCount(geometry) >= minimumTiles
    }

    /// `KILN_WINOGRAD_CL_MIN_TILES` overrides it (for measuring).
    private static let minimumTiles = ProcessInfo.processInfo.environment["KILN_WINOGRAD_CL_MIN_TILES"].flatMap { Int($0) } ?? 32

    /// 4x4 output tiles of one image.
    static func tileCount(_ geometry: SlidingWindowGeometry) -> Int {
        ((geometry.outputSize[0] + 3) / 4) * ((geometry.outputSize[1] + 3) / 4)
    }

    /// Floats of `U`.
    package static func transformedWeightFloats(channels: Int, outputChannels: Int) -> Int {
        positions * channels * outputChannels
    }

    // MARK: Weights

    /// `U = G g Gᵀ` for every (output channel, channel) pair of W, written as `[36, outputChannels / 64,
    /// channels, 64]`. W is `[outputChannels, channels, 3, 3]` (ONNX), or, when `directLayout`, in
    /// ``DirectConvolutionChannelsLast/packWeights(_:outputChannels:channels:kernelVolume:groups:into:)``'s
    /// `[outputChannels / 64, 9, channels, 64]` (a file converted for the direct kernel). Spread over
    /// `context`'s threads by (panel, channel).
    package static func transformWeights(_ w: UnsafePointer<Float>, directLayout: Bool, channels: Int, outputChannels: Int,
                                         into u: UnsafeMutablePointer<Float>, context: ExecutionContext) {
        let panels = outputChannels / panelWidth
        context.parallelFor(panels * channels, minimumChunk: 16) { range in
            withUnsafeTemporaryAllocation(of: Vector.self, capacity: 33) { scratch in
                let g = scratch.baseAddress!, t = g + 9, out = t + 18
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
                        // t = G g (6x3), then U = t Gᵀ (6x6), each row of G applied to three vectors.
                        for column in 0..<3 {
                            applyG(g[column], g[3 + column], g[6 + column], into: t + column, stride: 3)
                        }
                        for row in 0..<6 {
                            applyG(t[3 * row], t[3 * row + 1], t[3 * row + 2], into: out, stride: 1)
                            for column in 0..<6 {
                                let position = 6 * row + column
                                (u + ((position * panels + panel) * channels + channel) * panelWidth + slice * lanes)
                                    .storeVector(out[column])
                            }
                        }
                    }
                }
            }
        }
    }

    /// The six rows of `G` applied to `(a, b, c)`, written `stride` vectors apart.
    @inline(__always)
    private static func applyG(_ a: Vector, _ b: Vector, _ c: Vector, into out: UnsafeMutablePointer<Vector>, stride: Int) {
        let sixth = Vector(repeating: 1 / 6), twelfth = Vector(repeating: 1 / 12), twentyFourth = Vector(repeating: 1 / 24)
        out[0] = a * 0.25
        out[stride] = -(a + b + c) * sixth
        out[2 * stride] = -(a - b + c) * sixth
        out[3 * stride] = a * twentyFourth + b * twelfth + c * sixth
        out[4 * stride] = a * twentyFourth - b * twelfth + c * sixth
        out[5 * stride] = c
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

        init(tiles: Int, channels: Int, panels: Int, threads: Int) {
            // Bands of at most ~36 tiles: V and M of the band under 1 MiB (the L2) for 64 to 128
            // channels, and at least 24 tiles where there are that many, so each position's panel
            // of U (channels x 64) is used by enough rows to be worth reading.
            let limit = max(6, min(36, (1 << 18) / (WinogradChannelsLast.positions * (channels + panelWidth))))
            bands = max(1, (tiles + limit - 1) / limit)
            tilesPerBand = (tiles + bands - 1) / bands
            // Too few bands for the threads: split the output channels too (each group transforms
            // its band's input again, which costs far less than its products).
            let wanted = bands >= 2 * threads ? 1 : min(panels, (2 * threads + bands - 1) / bands)
            panelsPerGroup = (panels + wanted - 1) / wanted
            groups = (panels + panelsPerGroup - 1) / panelsPerGroup
            vFloats = WinogradChannelsLast.positions * tilesPerBand * channels
            mFloats = WinogradChannelsLast.positions * tilesPerBand * panelsPerGroup * panelWidth
        }
    }

    /// `y = activation(conv(x, w) + b + residual)`, all channels-last; `u` is
    /// ``transformWeights(_:directLayout:channels:outputChannels:into:context:)``'s. Output positions
    /// are `outputStride` floats apart (at least `outputChannels`), the residual's `outputChannels`.
    package static func convolve(_ x: UnsafePointer<Float>, u: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                 residual: UnsafePointer<Float>?, output y: UnsafeMutablePointer<Float>,
                                 outputStride: Int, batch: Int, channels: Int, outputChannels: Int,
                                 geometry: SlidingWindowGeometry, activation: FusedActivation?,
                                 context: ExecutionContext) throws {
        guard supports(channels: channels, outputChannels: outputChannels, geometry: geometry) else {
            throw OperatorError("the channels-last Winograd convolution needs a 3x3 kernel, stride 1, dilation 1, a multiple of \(lanes) channels and of \(panelWidth) output channels; got \(channels) -> \(outputChannels), kernel \(geometry.kernel), strides \(geometry.strides)")
        }
        let tiles = batch * tileCount(geometry)
        guard tiles > 0 else { return }
        let panels = outputChannels / panelWidth
        let plan = Plan(tiles: tiles, channels: channels, panels: panels, threads: context.threads)
        let items = plan.bands * plan.groups
        let participants = min(context.threads, items)
        let itemFloats = plan.vFloats + plan.mFloats
        let scratch = try KernelScratch.floats(rows: participants, columns: itemFloats, purpose: "Winograd tiles")
        defer { KernelScratch.release(scratch) }
        let output = OutputPlacement(geometry: geometry, outputChannels: outputChannels, outputStride: outputStride,
                                     bias: bias, residual: residual, activation: activation)
        output.bounds.withUnsafeBufferPointer { bounds in
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
                        transformInput(x, channels: channels, geometry: geometry, tiles: firstTile..<firstTile + count,
                                       positionStride: plan.tilesPerBand * channels, into: v)
                        transformedBand = band
                    }
                    let firstPanel = group * plan.panelsPerGroup
                    let panelRange = firstPanel..<min(panels, firstPanel + plan.panelsPerGroup)
                    multiply(v, u: u, tiles: count, channels: channels, panels: panels, panelRange: panelRange,
                             vPositionStride: plan.tilesPerBand * channels,
                             mRowFloats: plan.panelsPerGroup * panelWidth,
                             mPositionStride: plan.tilesPerBand * plan.panelsPerGroup * panelWidth,
                             bounds: bounds, into: m)
                    output.transform(m, tiles: firstTile..<firstTile + count, panelRange: panelRange,
                                     rowFloats: plan.panelsPerGroup * panelWidth,
                                     positionStride: plan.tilesPerBand * plan.panelsPerGroup * panelWidth, y: y)
                }
            }
        }
    }

    /// `V = Bᵀ d B` for the tiles `tiles` (numbered across the batch), written to `v` as
    /// `[36, tiles, channels]` with positions `positionStride` floats apart. Inputs outside the
    /// image read as zero.
    static func transformInput(_ x: UnsafePointer<Float>, channels: Int, geometry: SlidingWindowGeometry,
                               tiles: Range<Int>, positionStride: Int, into v: UnsafeMutablePointer<Float>) {
        let height = geometry.inputSize[0], width = geometry.inputSize[1]
        let tileColumns = (geometry.outputSize[1] + 3) / 4, tilesPerImage = tileCount(geometry)
        let padTop = geometry.padsBegin[0], padLeft = geometry.padsBegin[1]
        withUnsafeTemporaryAllocation(of: Vector.self, capacity: positions) { buffer in
            let e = buffer.baseAddress!
            for tile in tiles {
                let image = tile / tilesPerImage, index = tile % tilesPerImage
                let top = 4 * (index / tileColumns) - padTop, left = 4 * (index % tileColumns) - padLeft
                let imageInput = x + image * height * width * channels
                let inside = top >= 0 && left >= 0 && top + 6 <= height && left + 6 <= width
                let target = v + (tile - tiles.lowerBound) * channels
                var channel = 0
                while channel < channels {
                    // Columns first: e[row][column] = (Bᵀ d)[row][column], one input column at a time.
                    for column in 0..<6 {
                        let inputColumn = left + column
                        var d0 = Vector(), d1 = Vector(), d2 = Vector(), d3 = Vector(), d4 = Vector(), d5 = Vector()
                        let base = imageInput + (top * width + inputColumn) * channels + channel
                        let rowFloats = width * channels
                        if inside {
                            d0 = base.loadVector(); d1 = (base + rowFloats).loadVector()
                            d2 = (base + 2 * rowFloats).loadVector(); d3 = (base + 3 * rowFloats).loadVector()
                            d4 = (base + 4 * rowFloats).loadVector(); d5 = (base + 5 * rowFloats).loadVector()
                        } else if inputColumn >= 0 && inputColumn < width {
                            func load(_ row: Int) -> Vector {
                                top + row >= 0 && top + row < height ? (base + row * rowFloats).loadVector() : Vector()
                            }
                            d0 = load(0); d1 = load(1); d2 = load(2); d3 = load(3); d4 = load(4); d5 = load(5)
                        }
                        applyBTransposed(d0, d1, d2, d3, d4, d5, into: e + column, stride: 6)
                    }
                    // Then rows: V[row][column] = (e B)[row][column].
                    for row in 0..<6 {
                        let r = e + 6 * row
                        let out = target + 6 * row * positionStride + channel
                        applyBTransposed(r[0], r[1], r[2], r[3], r[4], r[5], into: out, stride: positionStride)
                    }
                    channel += lanes
                }
            }
        }
    }

    /// The six rows of `Bᵀ` applied to `(d0...d5)`, written `stride` vectors apart.
    @inline(__always)
    private static func applyBTransposed(_ d0: Vector, _ d1: Vector, _ d2: Vector, _ d3: Vector, _ d4: Vector,
                                         _ d5: Vector, into out: UnsafeMutablePointer<Vector>, stride: Int) {
        let four = Vector(repeating: 4), five = Vector(repeating: 5), two = Vector(repeating: 2)
        out[0] = four * d0 - five * d2 + d4
        out[stride] = (d3 + d4) - four * (d1 + d2)
        out[2 * stride] = (d4 - d3) + four * (d1 - d2)
        out[3 * stride] = (d4 - d2) + two * (d3 - d1)
        out[4 * stride] = (d4 - d2) - two * (d3 - d1)
        out[5 * stride] = four * d1 - five * d3 + d5
    }

    /// The same, to floats `stride` apart.
    @inline(__always)
    private static func applyBTransposed(_ d0: Vector, _ d1: Vector, _ d2: Vector, _ d3: Vector, _ d4: Vector,
                                         _ d5: Vector, into out: UnsafeMutablePointer<Float>, stride: Int) {
        let four = Vector(repeating: 4), five = Vector(repeating: 5), two = Vector(repeating: 2)
        out.storeVector(four * d0 - five * d2 + d4)
        (out + stride).storeVector((d3 + d4) - four * (d1 + d2))
        (out + 2 * stride).storeVector((d4 - d3) + four * (d1 - d2))
        (out + 3 * stride).storeVector((d4 - d2) + two * (d3 - d1))
        (out + 4 * stride).storeVector((d4 - d2) - two * (d3 - d1))
        (out + 5 * stride).storeVector(four * d1 - five * d3 + d5)
    }

    /// `M[p] = V[p] U[p]` for the 36 positions `p` and the panels `panelRange`: `tiles` rows of `V`
    /// (`channels` each) by each panel, into `M`'s rows of `mRowFloats` (the group's panels side
    /// by side).
    static func multiply(_ v: UnsafePointer<Float>, u: UnsafePointer<Float>, tiles: Int, channels: Int, panels: Int,
                         panelRange: Range<Int>, vPositionStride: Int, mRowFloats: Int, mPositionStride: Int,
                         bounds: UnsafePointer<Vector>, into m: UnsafeMutablePointer<Float>) {
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
        /// No bounds for the products (the activation belongs after the output transform).
        let bounds = [Vector(repeating: -.infinity), Vector(repeating: .infinity)]

        init(geometry: SlidingWindowGeometry, outputChannels: Int, outputStride: Int, bias: UnsafePointer<Float>?,
             residual: UnsafePointer<Float>?, activation: FusedActivation?) {
            outputHeight = geometry.outputSize[0]
            outputWidth = geometry.outputSize[1]
            tileColumns = (outputWidth + 3) / 4
            tilesPerImage = WinogradChannelsLast.tileCount(geometry)
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
            withUnsafeTemporaryAllocation(of: Vector.self, capacity: 28) { buffer in
                let s = buffer.baseAddress!, out = s + 24
                for tile in tiles {
                    let image = tile / tilesPerImage, index = tile % tilesPerImage
                    let top = 4 * (index / tileColumns), left = 4 * (index % tileColumns)
                    let rows = min(4, outputHeight - top), columns = min(4, outputWidth - left)
                    let row = m + (tile - tiles.lowerBound) * rowFloats
                    let firstPosition = (image * outputHeight + top) * outputWidth + left
                    for panel in panelRange {
                        for slice in 0..<panelWidth / lanes {
                            let channel = panel * panelWidth + slice * lanes
                            let products = row + (panel - panelRange.lowerBound) * panelWidth + slice * lanes
                            // Columns first: s[r][column] = (Aᵀ M)[r][column].
                            for column in 0..<6 {
                                let p = products + column * positionStride
                                let step = 6 * positionStride
                                applyATransposed(p.loadVector(), (p + step).loadVector(), (p + 2 * step).loadVector(),
                                                 (p + 3 * step).loadVector(), (p + 4 * step).loadVector(),
                                                 (p + 5 * step).loadVector(), into: s + column, stride: 6)
                            }
                            let b: Vector = bias.map { ($0 + channel).loadVector() } ?? Vector()
                            for r in 0..<rows {
                                let t = s + 6 * r
                                applyATransposed(t[0], t[1], t[2], t[3], t[4], t[5], into: out, stride: 1)
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

        /// The four rows of `Aᵀ` applied to `(m0...m5)`, written `stride` vectors apart.
        @inline(__always)
        private func applyATransposed(_ m0: Vector, _ m1: Vector, _ m2: Vector, _ m3: Vector, _ m4: Vector, _ m5: Vector,
                                      into out: UnsafeMutablePointer<Vector>, stride: Int) {
            let sum12 = m1 + m2, difference12 = m1 - m2, sum34 = m3 + m4, difference34 = m3 - m4
            out[0] = m0 + sum12 + sum34
            out[stride] = difference12 + 2 * difference34
            out[2 * stride] = sum12 + 4 * sum34
            out[3 * stride] = difference12 + 8 * difference34 + m5
        }
    }
}
