import Foundation

/// Convolution (group 1) writing channels-last output, computed directly: 64 output channels in
/// four sixteen-lane accumulators per output position, six positions at a time, each input value
/// broadcast and multiplied into the four weight vectors of its tap and channel. The same
/// arrangement as ONNX Runtime's NCHWc convolutions (MLAS), on channels-last data.
///
/// Why: im2col + OpenBLAS runs SqueezeNet's 3x3 layers (16 to 64 input channels) at 75-85% of the
/// core's FMA peak, plus the lowering. Here each block is 24 independent accumulators, 4 weight
/// loads and 6 broadcasts per 24 FMAs, no lowering and no epilogue pass: the bias is the
/// accumulators' starting value and a clamp (Relu, Clip) is applied in registers before the store.
/// On this project's Zen 5 machine, SqueezeNet's 3x3 16 -> 64 layer at 55x55 took 237 µs at 1
/// thread (235 GFLOP/s; im2col + OpenBLAS 280) and 124-128 at 2 threads (147).
///
/// Layout: the input is copied once per run into zero-padded phase planes (``PaddedPlanes``),
/// up to `strides[0] x strides[1]` of them (the phases some tap reads), so that every tap of
/// every output position reads a plane at stride 1. A block takes six consecutive output positions, each read at its own address, so
/// blocks run on across output rows and the padding columns between them cost nothing (an
/// earlier version numbered positions along the planes' wider rows and computed, then dropped,
/// the positions in between: 2 of every 9 at 7x7, where ResNet's last stage runs).
///
/// Sixteen-lane vectors only run at full speed in builds for AVX-512 (``BuildTarget``); the kernel
/// is selected there (``applies(channels:outputChannels:geometry:)``) and is correct, but slow, anywhere.
package enum DirectConvolutionChannelsLast {
    /// Output channels per block.
    package static let channelGroup = BroadcastBlockKernel.columns
    /// Output positions per block.
    static let positionsPerBlock = BroadcastBlockKernel.rows

    /// Whether `Conv` runs this convolution here, measured against im2col + OpenBLAS (2 threads): an
    /// AVX-512 build; for a kernel larger than 1x1, at least ``minimumChannels`` input channels, or
    /// fewer with a kernel row of at least that many values (``mergesColumns(channels:kernel:)``:
    /// with a loop over each tap's 3 channels SqueezeNet's stem ran 10% slower than im2col +
    /// OpenBLAS; a kernel row at a time, 2 threads, ResNet-50's 7x7 stem 1.20 -> 0.55 ms and
    /// SqueezeNet's 0.28-0.30 -> 0.17 ms); for a pointwise one, at least
    /// ``minimumPointwiseChannels`` (with 16 to 32, SqueezeNet's expand layers ran 5-30% slower:
    /// too little work per block; from 64, MobileNetV2's layers ran level to 25% faster, its 320 ->
    /// 1280 one at 7x7 171 -> 129 µs). Depends only on the node, never on the input's size, so a
    /// node's cached weight packing always matches its kernel. `KILN_DIRECT_CONVOLUTION=0` turns
    /// it off (for comparing the two).
    package static func applies(channels: Int, outputChannels: Int, geometry: SlidingWindowGeometry) -> Bool {
        isAvailable && suits(channels: channels, outputChannels: outputChannels, kernel: geometry.kernel,
                             dilations: geometry.dilations)
    }

    /// ``applies(channels:outputChannels:geometry:)`` in a build that has the kernel, from the
    /// node's static sizes: what ``PackWeightsPass`` asks when it decides to store W packed.
    ///
    /// Output channels that are not a whole number of groups run here from
    /// ``minimumChannelsWithNarrowerGroup`` of them: the last, narrower group is computed 64 wide on
    /// weights padded with zeros and only its own channels are stored. SqueezeNet's classifier
    /// (512 -> 1000 at 13x13) took 0.47 ms on OpenBLAS against ORT's 0.37, and runs here now;
    /// MobileNetV2's 96- and 160-channel layers ran slower here (384 -> 96 at 14x14: 0.046 ms on
    /// OpenBLAS, 0.098 here) and stay there.
    ///
    /// A kernel larger than 1x1 with fewer than ``minimumChannels`` input channels (a 3-channel
    /// image's stem) runs here with merged columns (``mergesColumns(channels:kernel:)``) when a
    /// kernel row holds at least that many values, and its output channels are whole groups.
    package static func suits(channels: Int, outputChannels: Int, kernel: [Int], dilations: [Int]) -> Bool {
        guard kernel.count == 2, dilations == [1, 1], outputChannels > 0 else { return false }
        if mergesColumns(channels: channels, kernel: kernel) {
            return channels * kernel[1] >= minimumChannels && outputChannels % channelGroup == 0
        }
        return (outputChannels % channelGroup == 0 || outputChannels >= minimumChannelsWithNarrowerGroup)
            && channels >= (kernel[0] * kernel[1] > 1 ? minimumChannels : minimumPointwiseChannels)
    }

    /// Whether a block reads a whole kernel row's taps as one run of `kernel[1] * channels` inputs
    /// (the planes then keep their columns together, ``PaddedPlanes``): for fewer than
    /// ``minimumChannels`` channels, where a loop over one tap's few channels costs more than its
    /// FMAs. ResNet-50's 7x7 stem then multiplies 7 runs of 21 values per block instead of 49 of 3.
    static func mergesColumns(channels: Int, kernel: [Int]) -> Bool {
        kernel.count == 2 && kernel[1] > 1 && channels < minimumChannels
    }

    /// `KILN_DIRECT_NARROWER_GROUP_MIN` overrides it when converting (for measuring).
    package static let minimumChannelsWithNarrowerGroup =
        ProcessInfo.processInfo.environment["KILN_DIRECT_NARROWER_GROUP_MIN"].flatMap { Int($0) } ?? 512

    /// Whether this build runs the kernel at all.
    package static var isAvailable: Bool { BuildTarget.hasAVX512 && enabled }

    package static let minimumChannels = 8
    package static let minimumPointwiseChannels = 64
    private static let enabled = ProcessInfo.processInfo.environment["KILN_DIRECT_CONVOLUTION"] != "0"

    /// Whether the kernel can compute this convolution at all (in any build).
    package static func supports(outputChannels: Int, geometry: SlidingWindowGeometry) -> Bool {
        geometry.rank == 2 && geometry.dilations == [1, 1] && outputChannels > 0
    }

    /// Groups of output channels: 64 each, the last one narrower when `outputChannels` is not a
    /// multiple of 64.
    package static func groupCount(outputChannels: Int) -> Int { (outputChannels + channelGroup - 1) / channelGroup }

    /// Output channels of `group`.
    static func width(of group: Int, outputChannels: Int) -> Int {
        min(channelGroup, outputChannels - group * channelGroup)
    }

    /// Reorders W `[M, C, kernelHeight, kernelWidth]` into groups of 64 output channels, each
    /// `[kernelHeight * kernelWidth, C, 64]` (the last `[..., C, M % 64]` when it is narrower, so the
    /// whole has W's size): for each group, tap and input channel, the weights one broadcast input
    /// value is multiplied by. Groups `groups` only (all by default), so threads can share the
    /// work; within a group each run is written in one go, its values read from rows of W that stay
    /// in cache for all of a channel's taps (writing lane by lane across the whole buffer made
    /// ResNet-50's first run 110 ms).
    package static func packWeights(_ weights: UnsafePointer<Float>, outputChannels: Int, channels: Int,
                                    kernelVolume: Int, groups: Range<Int>? = nil, into packed: UnsafeMutablePointer<Float>) {
        let rowFloats = channels * kernelVolume
        for group in groups ?? 0..<groupCount(outputChannels: outputChannels) {
            let width = width(of: group, outputChannels: outputChannels)
            let source = weights + group * channelGroup * rowFloats
            let destination = packed + group * kernelVolume * channels * channelGroup
            for channel in 0..<channels {
                for tap in 0..<kernelVolume {
                    let target = destination + (tap * channels + channel) * width
                    let column = source + channel * kernelVolume + tap
                    for lane in 0..<width { target[lane] = column[lane * rowFloats] }
                }
            }
        }
    }

    /// The narrower last group of packed weights widened to 64 with zeros, `[taps, C, 64]`, which
    /// is what ``BroadcastBlockKernel/block6(_:channels:tapOffsets:taps:weights:bias:bounds:residuals:outputs:)`` reads.
    package static func widenLastGroup(_ packed: UnsafePointer<Float>, outputChannels: Int, channels: Int, kernelVolume: Int,
                               into widened: UnsafeMutablePointer<Float>) {
        let last = groupCount(outputChannels: outputChannels) - 1
        let width = width(of: last, outputChannels: outputChannels)
        let source = packed + last * kernelVolume * channels * channelGroup
        for run in 0..<kernelVolume * channels {
            let target = widened + run * channelGroup
            target.update(from: source + run * width, count: width)
            (target + width).update(repeating: 0, count: channelGroup - width)
        }
    }

    /// The inverse of ``packWeights(_:outputChannels:channels:kernelVolume:groups:into:)``: W back
    /// in ONNX's layout, for a build that does not run this kernel and reads a file whose weights
    /// were packed when it was converted (``PackWeightsPass``).
    package static func unpackWeights(_ packed: UnsafePointer<Float>, outputChannels: Int, channels: Int,
                                      kernelVolume: Int, into weights: UnsafeMutablePointer<Float>) {
        let rowFloats = channels * kernelVolume
        for group in 0..<groupCount(outputChannels: outputChannels) {
            let width = width(of: group, outputChannels: outputChannels)
            let source = packed + group * kernelVolume * channels * channelGroup
            let destination = weights + group * channelGroup * rowFloats
            for channel in 0..<channels {
                for tap in 0..<kernelVolume {
                    let run = source + (tap * channels + channel) * width
                    let column = destination + channel * kernelVolume + tap
                    for lane in 0..<width { column[lane * rowFloats] = run[lane] }
                }
            }
        }
    }

    /// `y = activation(conv(x, w) + b + residual)`, `y` and the residual channels-last.
    /// - Parameters:
    ///   - inputChannelsLast: Whether `x` is `[N, H, W, C]`; else `[N, C, H, W]`.
    ///   - weights: ``packWeights`` of W.
    ///   - widenedLastGroup: ``widenLastGroup(_:outputChannels:channels:kernelVolume:into:)`` of
    ///     `weights` when the caller keeps it (a constant W); else it is made for this call.
    ///   - outputStride: Floats between consecutive output positions (at least `outputChannels`);
    ///     the residual's positions are `outputChannels` apart.
    package static func convolve(_ x: UnsafePointer<Float>, inputChannelsLast: Bool, weights: UnsafePointer<Float>,
                                 widenedLastGroup: UnsafePointer<Float>? = nil, bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?,
                                 output y: UnsafeMutablePointer<Float>, outputStride: Int? = nil, batch: Int,
                                 channels: Int, outputChannels: Int, geometry: SlidingWindowGeometry,
                                 activation: FusedActivation?, context: ExecutionContext) throws {
        guard supports(outputChannels: outputChannels, geometry: geometry) else {
            throw OperatorError("the direct channels-last convolution needs a 2-D kernel, dilation 1 and output channels, not \(outputChannels) channels, dilations \(geometry.dilations)")
        }
        let mergesColumns = mergesColumns(channels: channels, kernel: geometry.kernel)
        let planes = try PaddedPlanes(batch: batch, channels: channels, geometry: geometry,
                                      inputChannelsLast: inputChannelsLast, mergesColumns: mergesColumns)
        let outputStride = outputStride ?? outputChannels
        guard batch > 0, geometry.outputVolume > 0 else { return }
        let buffer = planes.inPlace ? nil
            : try KernelScratch.floats(rows: 1, columns: planes.totalFloats, purpose: "direct convolution planes")
        defer { KernelScratch.release(buffer) }
        if let buffer { planes.fill(buffer, from: x, channelsLast: inputChannelsLast, context: context) }
        let source = buffer.map { UnsafePointer($0) } ?? x

        let taps = geometry.kernelVolume
        let tapOffsets = planes.tapOffsets(kernel: geometry.kernel)
        // What one block multiplies per tap offset: a tap's channels, or with merged columns a row
        // of the kernel, its taps' channels side by side (W's packed order is the same either way).
        let blockTaps = mergesColumns ? geometry.kernel[0] : taps
        let blockChannels = mergesColumns ? geometry.kernel[1] * channels : channels
        let columnStep = mergesColumns ? geometry.strides[1] : 1
        let groups = groupCount(outputChannels: outputChannels)
        // A narrower last group runs on its weights and bias widened to 64 (zeros beyond its width),
        // its blocks stored through a row buffer: `lastWidth` channels of each row are copied out.
        let fullGroups = outputChannels / channelGroup
        let lastWidth = outputChannels - fullGroups * channelGroup
        let scratchRows = lastWidth == 0 ? 0 : 1 + (widenedLastGroup == nil ? taps * channels : 0)
        let scratch = scratchRows == 0 ? nil
            : try KernelScratch.floats(rows: scratchRows, columns: channelGroup, purpose: "direct convolution last group")
        defer { KernelScratch.release(scratch) }
        var widened: UnsafePointer<Float>? = nil, widenedBias: UnsafePointer<Float>? = nil
        if let scratch {
            scratch.update(repeating: 0, count: channelGroup)
            if let bias { scratch.update(from: bias + fullGroups * channelGroup, count: lastWidth) }
            widenedBias = UnsafePointer(scratch)
            if let widenedLastGroup {
                widened = widenedLastGroup
            } else {
                widenLastGroup(weights, outputChannels: outputChannels, channels: channels, kernelVolume: taps,
                               into: scratch + channelGroup)
                widened = UnsafePointer(scratch + channelGroup)
            }
        }
        // Plain locals for everything the loop reads: arrays and structs reached through the
        // closure's captures cost retains and releases per block.
        let planeWidth = planes.width, imageFloats = planes.imageFloats
        let imagePositions = geometry.outputVolume
        let blocksPerImage = (imagePositions + positionsPerBlock - 1) / positionsPerBlock
        // Chunks of blocks whose input stays in L2, group by group within a chunk: consecutive
        // items then share a group's weights, which come from L2 for every block of the chunk
        // instead of all groups' weights streaming from L3 once per block (ResNet-50's 7x7 layers,
        // 1-9 MB of weights for 9 blocks, scaled 1.5x from 1 to 2 threads that way).
        let totalBlocks = batch * blocksPerImage
        let (chunks, blocksPerChunk) = BroadcastBlockKernel.rowChunks(blocks: totalBlocks, rowFloats: channels)
        let items = chunks * groups * blocksPerChunk
        let outputWidth = geometry.outputSize[1]
        let (bounds, remaining) = BroadcastBlockKernel.epilogue(activation: activation)
        let (low, high) = activation?.clampBounds ?? (-.infinity, .infinity)
        let flopsPerItem = positionsPerBlock * channelGroup * taps * channels
        tapOffsets.withUnsafeBufferPointer { tapOffsets in bounds.withUnsafeBufferPointer { bounds in
          BroadcastBlockKernel.noBounds.withUnsafeBufferPointer { unbounded in
            let tapOffsets = tapOffsets.baseAddress!, bounds = bounds.baseAddress!, unbounded = unbounded.baseAddress!
            context.parallelFor(items, minimumChunk: max(1, 1 << 20 / max(1, flopsPerItem))) { range in
              // The row buffer serves only a narrower last group.
              StackScratch.withFloats(widened == nil ? 0 : positionsPerBlock * channelGroup) { rowBuffer in
                BroadcastBlockKernel.withRowSlots { inputs, outputs, residuals in
                    for item in range {
                        let chunk = item / (groups * blocksPerChunk), group = item / blocksPerChunk % groups
                        let block = chunk * blocksPerChunk + item % blocksPerChunk
                        guard block < totalBlocks else { continue }
                        let image = block / blocksPerImage
                        let first = block % blocksPerImage * positionsPerBlock
                        let imageInput = source + image * imageFloats
                        let imageOutput = y + image * imagePositions * outputStride + group * channelGroup
                        // The residual's positions are `outputChannels` apart, the output's `outputStride`.
                        let imageResidual = residual.map { $0 + image * imagePositions * outputChannels + group * channelGroup }
                        // Six consecutive output positions, each read at its own place in the
                        // planes (rows of the planes are wider than output rows); past the image's
                        // last position, the last one again, not stored.
                        var row = first / outputWidth, column = first - row * outputWidth
                        for slot in 0..<positionsPerBlock {
                            let position = first + slot
                            inputs[slot] = imageInput + (row * planeWidth + column * columnStep) * channels
                            let inside = position < imagePositions
                            outputs[slot] = inside ? imageOutput + position * outputStride : nil
                            residuals[slot] = inside ? imageResidual.map { $0 + position * outputChannels } : nil
                            if position + 1 < imagePositions {
                                column += 1
                                if column == outputWidth { column = 0; row += 1 }
                            }
                        }
                        if group == fullGroups, let widened {
                            lastGroup(inputs, outputs: outputs, residuals: residuals, channels: blockChannels,
                                      tapOffsets: tapOffsets, taps: blockTaps, widened: widened,
                                      bias: bias == nil ? nil : widenedBias,
                                      unbounded: unbounded, rowBuffer: rowBuffer, width: lastWidth,
                                      low: low, high: high, activation: remaining, hasResidual: residual != nil)
                            continue
                        }
                        BroadcastBlockKernel.block6(inputs, channels: blockChannels, tapOffsets: tapOffsets, taps: blockTaps,
                                                    weights: weights + group * taps * channels * channelGroup,
                                                    bias: bias.map { $0 + group * channelGroup },
                                                    bounds: bounds, residuals: residual == nil ? nil : UnsafePointer(residuals),
                                                    outputs: outputs)
                        guard let remaining else { continue }
                        for slot in 0..<positionsPerBlock {
                            guard let target = outputs[slot] else { continue }
                            remaining.apply(target, count: channelGroup)
                        }
                    }
                }
              }
            }
          }
        }}
    }

    /// One block of the narrower last group: computed 64 wide into `rowBuffer`, then its `width`
    /// channels per row stored with the residual added and the clamp and activation applied.
    private static func lastGroup(_ inputs: UnsafeMutablePointer<UnsafePointer<Float>>,
                                  outputs: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>,
                                  residuals: UnsafeMutablePointer<UnsafePointer<Float>?>, channels: Int,
                                  tapOffsets: UnsafePointer<Int>, taps: Int, widened: UnsafePointer<Float>,
                                  bias: UnsafePointer<Float>?,
                                  unbounded: UnsafePointer<BroadcastBlockKernel.Vector>,
                                  rowBuffer: UnsafeMutablePointer<Float>, width: Int, low: Float, high: Float,
                                  activation: FusedActivation?, hasResidual: Bool) {
        // Which rows are stored (and where): the block writes all six to the buffer.
        var targets: (UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?,
                      UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) =
            (outputs[0], outputs[1], outputs[2], outputs[3], outputs[4], outputs[5])
        for slot in 0..<positionsPerBlock { outputs[slot] = rowBuffer + slot * channelGroup }
        BroadcastBlockKernel.block6(inputs, channels: channels, tapOffsets: tapOffsets, taps: taps, weights: widened,
                                    bias: bias, bounds: unbounded,
                                    residuals: nil, outputs: outputs)
        withUnsafeBytes(of: &targets) { raw in
            let targets = raw.bindMemory(to: UnsafeMutablePointer<Float>?.self)
            for slot in 0..<positionsPerBlock { outputs[slot] = targets[slot] }
        }
        for slot in 0..<positionsPerBlock {
            guard let target = outputs[slot] else { continue }
            let row = rowBuffer + slot * channelGroup
            let z = hasResidual ? residuals[slot] : nil
            for channel in 0..<width {
                let sum = row[channel] + (z?[channel] ?? 0)
                target[channel] = FusedActivation.clamp(sum, low: low, high: high)
            }
            activation?.apply(target, count: width)
        }
    }
}

/// A convolution input copied into zero-padded phase planes, channels-last: plane `(ph, pw)` of an
/// image holds padded rows `ph, ph + sh, ...` and columns `pw, pw + sw, ...`, so tap `(kh, kw)` of
/// output position `(oh, ow)` is plane `(kh % sh, kw % sw)`, row `oh + kh / sh`, column
/// `ow + kw / sw`. With stride 1 there is one plane: the padded image.
struct PaddedPlanes {
    let batch: Int
    let channels: Int
    let geometry: SlidingWindowGeometry
    /// Rows and columns of each plane.
    let height: Int
    let width: Int
    /// Floats of one plane and of one image's planes.
    let planeFloats: Int
    let imageFloats: Int
    let totalFloats: Int
    /// Phase planes held along each axis: the stride, or the kernel size when smaller.
    let phases: [Int]
    /// Whether the input is read as it is: a channels-last input of a pointwise, stride-1,
    /// unpadded convolution is its own single plane.
    let inPlace: Bool
    /// Whether columns stay together (no column phases): plane column `j` is padded column `j`,
    /// so a kernel row's taps are consecutive and output column `ow` reads from `ow * stride`.
    let mergesColumns: Bool

    init(batch: Int, channels: Int, geometry: SlidingWindowGeometry, inputChannelsLast: Bool,
         mergesColumns: Bool = false) throws {
        self.batch = batch
        self.channels = channels
        self.geometry = geometry
        self.mergesColumns = mergesColumns
        let strides = geometry.strides
        let paddedHeight = geometry.inputSize[0] + geometry.padsBegin[0] + geometry.padsEnd[0]
        let paddedWidth = geometry.inputSize[1] + geometry.padsBegin[1] + geometry.padsEnd[1]
        // Every tap of every output must land inside its plane.
        height = max((paddedHeight + strides[0] - 1) / strides[0],
                     geometry.outputSize[0] + (geometry.kernel[0] - 1) / strides[0])
        width = mergesColumns
            ? max(paddedWidth, (geometry.outputSize[1] - 1) * strides[1] + geometry.kernel[1])
            : max((paddedWidth + strides[1] - 1) / strides[1],
                  geometry.outputSize[1] + (geometry.kernel[1] - 1) / strides[1])
        var total = 0, overflow = false
        func multiply(_ values: [Int]) -> Int {
            values.reduce(1) { product, value in
                let (result, over) = product.multipliedReportingOverflow(by: value)
                overflow = overflow || over
                return result
            }
        }
        inPlace = inputChannelsLast && geometry.kernel == [1, 1] && strides == [1, 1]
            && geometry.padsBegin == [0, 0] && geometry.padsEnd == [0, 0]
        planeFloats = multiply([height, width, channels])
        // Only the phases some tap reads: a 1x1 stride-2 kernel reads one plane of four.
        phases = [min(strides[0], geometry.kernel[0]), mergesColumns ? 1 : min(strides[1], geometry.kernel[1])]
        imageFloats = multiply([planeFloats, phases[0], phases[1]])
        total = multiply([imageFloats, batch])
        guard !overflow, total < Int(Int32.max) * 16 else {
            throw OperatorError("direct convolution input of \(batch) x \(channels) x \(geometry.inputSize) is too large")
        }
        totalFloats = max(1, total)
    }

    /// Offsets from an output position's address in plane (0, 0) to each tap's input, in the
    /// order of ``DirectConvolutionChannelsLast/packWeights``; with merged columns, to each kernel
    /// row's first tap.
    func tapOffsets(kernel: [Int]) -> [Int] {
        let strides = geometry.strides
        var offsets: [Int] = []
        offsets.reserveCapacity(kernel[0] * kernel[1])
        for row in 0..<kernel[0] {
            if mergesColumns {
                offsets.append(row % strides[0] * planeFloats + (row / strides[0]) * width * channels)
                continue
            }
            for column in 0..<kernel[1] {
                let plane = row % strides[0] * phases[1] + column % strides[1]
                offsets.append(plane * planeFloats + ((row / strides[0]) * width + column / strides[1]) * channels)
            }
        }
        return offsets
    }

    /// Copies `x` into the planes at `buffer`, zeros in the padding.
    func fill(_ buffer: UnsafeMutablePointer<Float>, from x: UnsafePointer<Float>, channelsLast: Bool,
              context: ExecutionContext) {
        let strides = geometry.strides
        // Plane columns step through padded columns by the stride, or one by one when merged.
        let columnStride = mergesColumns ? 1 : strides[1]
        let planeCount = phases[0] * phases[1]
        let inputHeight = geometry.inputSize[0], inputWidth = geometry.inputSize[1]
        let inputVolume = inputHeight * inputWidth
        let rows = batch * planeCount * height
        let rowFloats = width * channels
        context.parallelFor(rows, minimumChunk: max(1, 16_384 / max(1, rowFloats))) { range in
            for index in range {
                let image = index / (planeCount * height), plane = index / height % planeCount, row = index % height
                let planeRow = plane / phases[1], planeColumn = plane % phases[1]
                let destination = buffer + image * imageFloats + plane * planeFloats + row * rowFloats
                let inputRow = row * strides[0] + planeRow - geometry.padsBegin[0]
                guard inputRow >= 0, inputRow < inputHeight else {
                    destination.update(repeating: 0, count: rowFloats)
                    continue
                }
                // Plane columns `valid` read input columns `first, first + stride, ...`; the rest
                // are padding.
                let valid = SlidingWindowGeometry.validRange(offset: planeColumn - geometry.padsBegin[1],
                                                              stride: columnStride, limit: inputWidth, count: width)
                destination.update(repeating: 0, count: valid.lowerBound * channels)
                let tail = destination + valid.upperBound * channels
                tail.update(repeating: 0, count: (width - valid.upperBound) * channels)
                guard !valid.isEmpty else { continue }
                let first = valid.lowerBound * columnStride + planeColumn - geometry.padsBegin[1]
                let target = destination + valid.lowerBound * channels
                if channelsLast {
                    let source = x + ((image * inputHeight + inputRow) * inputWidth + first) * channels
                    if columnStride == 1 {
                        target.update(from: source, count: valid.count * channels)
                    } else {
                        for column in 0..<valid.count {
                            let from = source + column * columnStride * channels, to = target + column * channels
                            for channel in 0..<channels { to[channel] = from[channel] }
                        }
                    }
                } else {
                    let source = x + image * channels * inputVolume + inputRow * inputWidth + first
                    for channel in 0..<channels {
                        let from = source + channel * inputVolume, to = target + channel
                        for column in 0..<valid.count { to[column * channels] = from[column * columnStride] }
                    }
                }
            }
        }
    }
}
