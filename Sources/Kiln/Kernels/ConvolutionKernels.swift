/// Convolution kernels over NCHW-style planes (any number of spatial axes): the im2col lowering that
/// feeds `cblas_sgemm`, a direct depthwise kernel, and the scalar reference.
package enum ConvolutionKernels {
    /// Lowers `channels` input planes to the column matrix of a convolution: row
    /// `c * kernelVolume + tap` holds, for every output position, the input value that tap reads
    /// (0 where it reads padding). Fills only `rows`, so callers can split the rows across threads.
    /// - Parameters:
    ///   - input: The first of the planes, each `geometry.inputVolume` floats.
    ///   - columns: `[channels * kernelVolume, outputVolume]`, row-major.
    package static func im2col(_ input: UnsafePointer<Float>, geometry: SlidingWindowGeometry, rows: Range<Int>,
                               into columns: UnsafeMutablePointer<Float>) {
        let rank = geometry.rank
        let outputVolume = geometry.outputVolume
        guard rank > 0, outputVolume > 0 else { return }
        let last = rank - 1
        let inputSize = geometry.inputSize, outputSize = geometry.outputSize, kernel = geometry.kernel
        let strides = geometry.strides, dilations = geometry.dilations, padsBegin = geometry.padsBegin
        let inputStrides = ShapeArithmetic.strides(inputSize)
        let inputVolume = geometry.inputVolume, kernelVolume = geometry.kernelVolume
        let lastOutputSize = outputSize[last], lastStride = strides[last]
        let outerCount = outputVolume / lastOutputSize

        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * rank) { scratch in
            let tap = scratch.baseAddress!
            let outer = tap + rank
            for row in rows {
                var remainder = row % kernelVolume
                for axis in stride(from: last, through: 0, by: -1) {
                    tap[axis] = remainder % kernel[axis]
                    remainder /= kernel[axis]
                }
                let channel = row / kernelVolume
                let lastOffset = tap[last] * dilations[last] - padsBegin[last]
                let valid = geometry.validOutputRange(axis: last, tap: tap[last])
                let destination = columns + row * outputVolume
                let plane = input + channel * inputVolume
                for axis in 0..<last { outer[axis] = 0 }

                for outerIndex in 0..<outerCount {
                    let segment = destination + outerIndex * lastOutputSize
                    var inside = true
                    var offset = lastOffset
                    for axis in 0..<last {
                        let coordinate = outer[axis] * strides[axis] + tap[axis] * dilations[axis] - padsBegin[axis]
                        if coordinate < 0 || coordinate >= inputSize[axis] {
                            inside = false
                            break
                        }
                        offset += coordinate * inputStrides[axis]
                    }
                    if inside && !valid.isEmpty {
                        segment.update(repeating: 0, count: valid.lowerBound)
                        (segment + valid.upperBound).update(repeating: 0, count: lastOutputSize - valid.upperBound)
                        let source = plane + offset
                        if lastStride == 1 {
                            (segment + valid.lowerBound).update(from: source + valid.lowerBound, count: valid.count)
                        } else {
                            for position in valid { segment[position] = source[position * lastStride] }
                        }
                    } else {
                        segment.update(repeating: 0, count: lastOutputSize)
                    }
                    // Advance the odometer over the outer output axes.
                    var axis = last - 1
                    while axis >= 0 {
                        outer[axis] += 1
                        if outer[axis] < outputSize[axis] { break }
                        outer[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
    }

    /// Direct depthwise convolution of one 2-D plane: `output = bias + sum over taps of
    /// weight[tap] * shifted input`. For each kernel tap the output positions whose input lies
    /// inside the plane are a contiguous range, so the inner loop has no bounds tests and
    /// vectorizes when the stride is 1.
    /// - Parameters:
    ///   - geometry: Two spatial axes (a 1-D convolution is passed as height 1).
    ///   - weights: `kernel[0] * kernel[1]` taps, row-major.
    package static func depthwise2D(_ input: UnsafePointer<Float>, weights: UnsafePointer<Float>, bias: Float,
                                    geometry: SlidingWindowGeometry, output: UnsafeMutablePointer<Float>) {
        let window = geometry.planar
        output.update(repeating: bias, count: window.outputHeight * window.outputWidth)
        guard window.outputWidth > 0 else { return }

        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * window.kernelWidth) { ranges in
            for tap in 0..<window.kernelWidth {
                let valid = geometry.validOutputRange(axis: 1, tap: tap)
                ranges[2 * tap] = valid.lowerBound
                ranges[2 * tap + 1] = valid.upperBound
            }
            for outputRow in 0..<window.outputHeight {
                let destination = output + outputRow * window.outputWidth
                for tapRow in 0..<window.kernelHeight {
                    let inputRow = outputRow * window.strideHeight + tapRow * window.dilationHeight - window.padTop
                    guard inputRow >= 0 && inputRow < window.inputHeight else { continue }
                    let sourceRow = input + inputRow * window.inputWidth
                    for tapColumn in 0..<window.kernelWidth {
                        let weight = weights[tapRow * window.kernelWidth + tapColumn]
                        let lower = ranges[2 * tapColumn], upper = ranges[2 * tapColumn + 1]
                        let source = sourceRow + (tapColumn * window.dilationWidth - window.padLeft)
                        if window.strideWidth == 1 {
                            for column in lower..<upper { destination[column] += weight * source[column] }
                        } else {
                            for column in lower..<upper {
                                destination[column] += weight * source[column * window.strideWidth]
                            }
                        }
                    }
                }
            }
        }
    }

    /// The scalar reference: the textbook loops over batch, output channel, output position, input
    /// channel of the group and kernel tap, with bounds tests, accumulating in `Double`.
    /// - Parameters:
    ///   - input: `[batch, inputChannels, inputSize...]`.
    ///   - weights: `[outputChannels, inputChannels / groups, kernel...]`.
    ///   - bias: `[outputChannels]` or nil.
    ///   - output: `[batch, outputChannels, outputSize...]`.
    package static func reference(input: UnsafePointer<Float>, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                  output: UnsafeMutablePointer<Float>, batch: Int, inputChannels: Int,
                                  outputChannels: Int, groups: Int, geometry: SlidingWindowGeometry) {
        let channelsPerGroup = inputChannels / groups
        let outputsPerGroup = outputChannels / groups
        let rank = geometry.rank
        let inputVolume = geometry.inputVolume, outputVolume = geometry.outputVolume
        let kernelVolume = geometry.kernelVolume
        let inputStrides = ShapeArithmetic.strides(geometry.inputSize)
        for image in 0..<batch {
            for outputChannel in 0..<outputChannels {
                let group = outputChannel / outputsPerGroup
                for position in 0..<outputVolume {
                    var total = bias.map { Double($0[outputChannel]) } ?? 0
                    for channelInGroup in 0..<channelsPerGroup {
                        let inputChannel = group * channelsPerGroup + channelInGroup
                        for tap in 0..<kernelVolume {
                            var inside = true
                            var inputOffset = 0
                            var positionRemainder = position, tapRemainder = tap
                            for axis in stride(from: rank - 1, through: 0, by: -1) {
                                let outputCoordinate = positionRemainder % geometry.outputSize[axis]
                                positionRemainder /= geometry.outputSize[axis]
                                let tapCoordinate = tapRemainder % geometry.kernel[axis]
                                tapRemainder /= geometry.kernel[axis]
                                let coordinate = outputCoordinate * geometry.strides[axis]
                                    + tapCoordinate * geometry.dilations[axis] - geometry.padsBegin[axis]
                                if coordinate < 0 || coordinate >= geometry.inputSize[axis] { inside = false }
                                inputOffset += coordinate * inputStrides[axis]
                            }
                            guard inside else { continue }
                            let x = input[(image * inputChannels + inputChannel) * inputVolume + inputOffset]
                            let w = weights[(outputChannel * channelsPerGroup + channelInGroup) * kernelVolume + tap]
                            total += Double(x) * Double(w)
                        }
                    }
                    output[(image * outputChannels + outputChannel) * outputVolume + position] = Float(total)
                }
            }
        }
    }
}
