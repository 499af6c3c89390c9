/// A single-pass depthwise 3x3 kernel (stride 1 or 2, dilation 1, any padding) for one channel
/// plane, with bias and activation fused.
///
/// The plane is first copied into a zero-padded scratch plane (for stride 2 split, straight from the
/// input, into its even and odd columns), so every output row is one loop over contiguous memory
/// with 9 multiply-adds per output and no bounds tests; it vectorizes at the baseline SSE2 build. The general
/// ``ConvolutionKernels/depthwise2D(_:weights:bias:geometry:output:)`` instead makes one pass over
/// each output row per tap, and its stride-2 loads do not vectorize. A node's channels go four at
/// a time through ``DepthwiseChannelGroups`` (faster on every MobileNetV2 shape); this per-plane
/// kernel takes the one to three channels left over.
package enum DepthwiseKernels {
    /// Whether ``convolve3x3`` handles this geometry.
    package static func applies3x3(_ geometry: SlidingWindowGeometry) -> Bool {
        geometry.rank == 2 && geometry.kernel == [3, 3] && geometry.dilations == [1, 1]
            && (geometry.strides == [1, 1] || geometry.strides == [2, 2])
    }

    /// Output rows narrower than this take the flat path (see ``convolve3x3Flat``).
    package static let flatWidthLimit = 32

    /// Floats of scratch ``convolve3x3`` needs for one plane.
    package static func scratchFloats(_ geometry: SlidingWindowGeometry) -> Int {
        let stride = geometry.strides[0]
        let outputHeight = geometry.outputSize[0], outputWidth = geometry.outputSize[1]
        if outputWidth < flatWidthLimit {
            let pitch = flatPitch(stride: stride, outputWidth: outputWidth)
            let padded = stride == 1 ? (outputHeight + 2) * pitch : 4 * (outputHeight + 1) * pitch
            return max(1, padded + outputHeight * pitch)
        }
        let paddedHeight = (outputHeight - 1) * stride + 3
        let paddedWidth = (outputWidth - 1) * stride + 3
        return max(1, paddedHeight * (paddedWidth + 1))
    }

    /// Row pitch of the flat path's padded planes and result: every tap then reads the same offset
    /// pattern for all outputs of the plane.
    private static func flatPitch(stride: Int, outputWidth: Int) -> Int {
        stride == 1 ? outputWidth + 2 : outputWidth + 1
    }

    /// `output = activation(bias + depthwise 3x3 convolution of one plane)`.
    /// - Parameters:
    ///   - weights: The 9 taps, row-major.
    ///   - scratch: ``scratchFloats(_:)`` floats.
    ///   - paddingReady: The scratch was last used by this function with the same geometry, so its
    ///     padding is already zero (a caller convolving many planes passes true after the first).
    package static func convolve3x3(_ input: UnsafePointer<Float>, weights: UnsafePointer<Float>, bias: Float,
                                    geometry: SlidingWindowGeometry, activation: FusedActivation?,
                                    scratch: UnsafeMutablePointer<Float>, paddingReady: Bool = false,
                                    output: UnsafeMutablePointer<Float>) {
        let inputHeight = geometry.inputSize[0], inputWidth = geometry.inputSize[1]
        let outputHeight = geometry.outputSize[0], outputWidth = geometry.outputSize[1]
        guard outputHeight > 0, outputWidth > 0 else { return }
        if outputWidth < flatWidthLimit {
            convolve3x3Flat(input, weights: weights, bias: bias, geometry: geometry, activation: activation,
                            scratch: scratch, paddingReady: paddingReady, output: output)
            return
        }
        let stride = geometry.strides[0]
        let padTop = geometry.padsBegin[0], padLeft = geometry.padsBegin[1]
        let paddedHeight = (outputHeight - 1) * stride + 3
        let paddedWidth = (outputWidth - 1) * stride + 3
        // Input columns that land inside the padded row, and where.
        let firstColumn = max(0, padLeft), lastColumn = min(paddedWidth, inputWidth + padLeft)
        let copied = max(0, lastColumn - firstColumn)
        // Stride 1: rows of `paddedWidth`. Stride 2: each row is its even columns (outputWidth + 1)
        // followed by its odd columns (outputWidth), so all three taps read contiguously.
        let evenCount = outputWidth + 1
        let rowPitch = stride == 1 ? paddedWidth : paddedWidth + 1

        for row in 0..<paddedHeight {
            let destination = scratch + row * rowPitch
            let y = row - padTop
            if y < 0 || y >= inputHeight || copied == 0 {
                destination.update(repeating: 0, count: paddedWidth)
            } else if stride == 1 {
                ShortRows.zero(destination, count: firstColumn)
                (destination + firstColumn).update(from: input + y * inputWidth + (firstColumn - padLeft), count: copied)
                ShortRows.zero(destination + lastColumn, count: paddedWidth - lastColumn)
            } else {
                EvenOddSplit.split(input + y * inputWidth - padLeft, first: firstColumn, last: lastColumn,
                             paddedWidth: paddedWidth, even: destination, odd: destination + evenCount)
            }
        }

        let w00 = weights[0], w01 = weights[1], w02 = weights[2]
        let w10 = weights[3], w11 = weights[4], w12 = weights[5]
        let w20 = weights[6], w21 = weights[7], w22 = weights[8]
        // A clamp (Relu, Relu6) is applied in the loop; other activations after each row.
        let (low, high) = activation?.clampBounds ?? (-.infinity, .infinity)
        let rowActivation = activation?.unlessClamp
        for outputRow in 0..<outputHeight {
            let top = scratch + outputRow * stride * rowPitch
            let middle = top + rowPitch, bottom = middle + rowPitch
            let destination = output + outputRow * outputWidth
            if stride == 1 {
                for column in 0..<outputWidth {
                    var total = bias + w00 * top[column] + w01 * top[column + 1] + w02 * top[column + 2]
                    total += w10 * middle[column] + w11 * middle[column + 1] + w12 * middle[column + 2]
                    total += w20 * bottom[column] + w21 * bottom[column + 1] + w22 * bottom[column + 2]
                    destination[column] = FusedActivation.clamp(total, low: low, high: high)
                }
            } else {
                let topOdd = top + evenCount, middleOdd = middle + evenCount, bottomOdd = bottom + evenCount
                for column in 0..<outputWidth {
                    var total = bias + w00 * top[column] + w01 * topOdd[column] + w02 * top[column + 1]
                    total += w10 * middle[column] + w11 * middleOdd[column] + w12 * middle[column + 1]
                    total += w20 * bottom[column] + w21 * bottomOdd[column] + w22 * bottom[column + 1]
                    destination[column] = FusedActivation.clamp(total, low: low, high: high)
                }
            }
            rowActivation?.apply(destination, count: outputWidth)
        }
    }

    /// The same convolution for narrow planes (7x7 to 28x28 in MobileNetV2), where a loop per
    /// output row spends more time entering and leaving its vector body than in it. The padded
    /// input is laid out so that every tap reads one contiguous run for the whole plane: for stride
    /// 1 rows of pitch `outputWidth + 2`; for stride 2 four quarter planes (even/odd rows x
    /// even/odd columns) of pitch `outputWidth + 1`. One loop of `(outputHeight - 1) * pitch +
    /// outputWidth` outputs then computes every row at once (the few positions that fall in the
    /// pitch's spare columns are computed and dropped), and the rows are copied out.
    static func convolve3x3Flat(_ input: UnsafePointer<Float>, weights: UnsafePointer<Float>, bias: Float,
                                geometry: SlidingWindowGeometry, activation: FusedActivation?,
                                scratch: UnsafeMutablePointer<Float>, paddingReady: Bool,
                                output: UnsafeMutablePointer<Float>) {
        let inputHeight = geometry.inputSize[0], inputWidth = geometry.inputSize[1]
        let outputHeight = geometry.outputSize[0], outputWidth = geometry.outputSize[1]
        let stride = geometry.strides[0]
        let padTop = geometry.padsBegin[0], padLeft = geometry.padsBegin[1]
        let pitch = flatPitch(stride: stride, outputWidth: outputWidth)
        let paddedHeight = (outputHeight - 1) * stride + 3
        let paddedWidth = (outputWidth - 1) * stride + 3
        // Quarter planes for stride 2: [row parity][column parity], each (outputHeight + 1) rows.
        let quarter = (outputHeight + 1) * pitch
        let padded = stride == 1 ? (outputHeight + 2) * pitch : 4 * quarter
        let result = scratch + padded

        // Input columns that land inside a padded row, and where.
        let firstColumn = min(paddedWidth, max(0, padLeft))
        let lastColumn = max(firstColumn, min(paddedWidth, inputWidth + padLeft))
        // The padding is the same for every plane of the node, so it is written once per scratch
        // buffer; each plane then writes only the rows that hold input. (Zeroing and copying rows
        // of 7 to 28 floats through memset and memmove cost more than the arithmetic.)
        if !paddingReady { scratch.update(repeating: 0, count: padded) }
        for row in 0..<paddedHeight {
            let y = row - padTop
            guard y >= 0 && y < inputHeight else { continue }
            let source = input + y * inputWidth - padLeft
            if stride == 1 {
                ShortRows.copy(source + firstColumn, to: scratch + row * pitch + firstColumn,
                                  count: lastColumn - firstColumn)
            } else {
                let even = scratch + (row & 1) * 2 * quarter + (row >> 1) * pitch, odd = even + quarter
                EvenOddSplit.split(source, first: firstColumn, last: lastColumn, paddedWidth: paddedWidth, even: even, odd: odd)
            }
        }

        // taps[3 * dy + dx] is where tap (dy, dx) reads the input of output 0.
        var taps = (scratch, scratch, scratch, scratch, scratch, scratch, scratch, scratch, scratch)
        withUnsafeMutableBytes(of: &taps) { raw in
            let pointers = raw.baseAddress!.assumingMemoryBound(to: UnsafeMutablePointer<Float>.self)
            for dy in 0..<3 {
                for dx in 0..<3 {
                    pointers[3 * dy + dx] = stride == 1
                        ? scratch + dy * pitch + dx
                        : scratch + (dy & 1) * 2 * quarter + (dy >> 1) * pitch + (dx & 1) * quarter + (dx >> 1)
                }
            }
        }
        let (t0, t1, t2, t3, t4, t5, t6, t7, t8) = taps
        let w0 = weights[0], w1 = weights[1], w2 = weights[2]
        let w3 = weights[3], w4 = weights[4], w5 = weights[5]
        let w6 = weights[6], w7 = weights[7], w8 = weights[8]
        let count = (outputHeight - 1) * pitch + outputWidth
        let (low, high) = activation?.clampBounds ?? (-.infinity, .infinity)
        for index in 0..<count {
            var total = bias + w0 * t0[index] + w1 * t1[index] + w2 * t2[index]
            total += w3 * t3[index] + w4 * t4[index] + w5 * t5[index]
            total += w6 * t6[index] + w7 * t7[index] + w8 * t8[index]
            result[index] = FusedActivation.clamp(total, low: low, high: high)
        }
        activation?.unlessClamp?.apply(result, count: count)
        for row in 0..<outputHeight {
            ShortRows.copy(result + row * pitch, to: output + row * outputWidth, count: outputWidth)
        }
    }

    /// Every channel of a batch through the 3x3 kernels, across the pool: four channels at a time
    /// through ``DepthwiseChannelGroups``, the channels left over plane by plane.
    package static func convolve3x3(_ x: UnsafePointer<Float>, weights w: UnsafePointer<Float>, bias b: UnsafePointer<Float>?,
                                    output y: UnsafeMutablePointer<Float>, batch: Int, channels: Int,
                                    geometry: SlidingWindowGeometry, activation: FusedActivation?,
                                    context: ExecutionContext) throws {
        let groupWidth = DepthwiseChannelGroups.width
        let groups = channels / groupWidth
        let inputVolume = geometry.inputVolume, outputVolume = geometry.outputVolume
        // One scratch block per participant, 16-byte aligned for the groups' SIMD4 planes (one
        // spare block of slack to align the base).
        let blockFloats = (max(DepthwiseChannelGroups.scratchFloats(geometry), scratchFloats(geometry)) + 15) & ~15
        let scratchBase = try KernelScratch.floats(rows: context.threads + 1, columns: blockFloats,
                                                   purpose: "depthwise padding")
        defer { KernelScratch.release(scratchBase) }
        let alignedBase = UnsafeMutableRawPointer(scratchBase).alignedUp(toMultipleOf: 16).assumingMemoryBound(to: Float.self)
        // Work items per image: the groups of four channels, then the channels left over.
        let itemsPerImage = groups + channels - groups * groupWidth
        let outputsPerItem = max(1, outputVolume * groupWidth)
        context.parallelChunks(batch * itemsPerImage, minimumChunk: max(1, 4_096 / outputsPerItem)) { chunk, items in
            let scratch = alignedBase + chunk * blockFloats
            // The scratch's padding stays valid while the same kernel keeps using it.
            var groupPaddingReady = false, planePaddingReady = false
            for item in items {
                let image = item / itemsPerImage, index = item % itemsPerImage
                let channel = index < groups ? index * groupWidth : groups * groupWidth + index - groups
                let plane = image * channels + channel
                if index < groups {
                    DepthwiseChannelGroups.convolve3x3(x + plane * inputVolume, weights: w + channel * 9, bias: b.map { $0 + channel },
                                                       geometry: geometry, activation: activation, scratch: scratch,
                                                       paddingReady: groupPaddingReady, output: y + plane * outputVolume)
                    (groupPaddingReady, planePaddingReady) = (true, false)
                } else {
                    convolve3x3(x + plane * inputVolume, weights: w + channel * 9, bias: b?[channel] ?? 0, geometry: geometry,
                                activation: activation, scratch: scratch, paddingReady: planePaddingReady,
                                output: y + plane * outputVolume)
                    (groupPaddingReady, planePaddingReady) = (false, true)
                }
            }
        }
    }
}
