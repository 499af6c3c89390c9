/// Transposed-convolution kernels.
///
/// A transposed convolution maps input position `i` and kernel tap `k` to output coordinate
/// `i * stride + k * dilation - padBegin`: the forward convolution's relation with the roles of
/// input and output swapped. The kernels therefore take a ``SlidingWindowGeometry`` whose
/// `inputSize` is the transposed convolution's *output* size and whose `outputSize` is its *input*
/// size, and `col2im` is the exact adjoint of ``ConvolutionKernels/im2col(_:geometry:rows:into:)``.
package enum TransposedConvolutionKernels {
    /// Scatter-adds the column matrix `[channels * kernelVolume, geometry.outputVolume]` into
    /// `channels` planes of `geometry.inputVolume` floats (which hold the bias or zeros). Only the
    /// planes in `channelRange` are touched, so callers can split channels across threads.
    package static func col2im(_ columns: UnsafePointer<Float>, geometry: SlidingWindowGeometry,
                               channelRange: Range<Int>, into planes: UnsafeMutablePointer<Float>) {
        let rank = geometry.rank
        let columnCount = geometry.outputVolume
        guard rank > 0, columnCount > 0 else { return }
        let last = rank - 1
        let planeSize = geometry.inputSize, positions = geometry.outputSize, kernel = geometry.kernel
        let strides = geometry.strides, dilations = geometry.dilations, padsBegin = geometry.padsBegin
        let planeStrides = ShapeArithmetic.strides(planeSize)
        let planeVolume = geometry.inputVolume, kernelVolume = geometry.kernelVolume
        let lastCount = positions[last], lastStride = strides[last]
        let outerCount = columnCount / lastCount

        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * rank) { scratch in
            let tap = scratch.baseAddress!
            let outer = tap + rank
            for channel in channelRange {
                let plane = planes + channel * planeVolume
                for tapIndex in 0..<kernelVolume {
                    var remainder = tapIndex
                    for axis in stride(from: last, through: 0, by: -1) {
                        tap[axis] = remainder % kernel[axis]
                        remainder /= kernel[axis]
                    }
                    let row = columns + (channel * kernelVolume + tapIndex) * columnCount
                    let lastOffset = tap[last] * dilations[last] - padsBegin[last]
                    let valid = geometry.validOutputRange(axis: last, tap: tap[last])
                    guard !valid.isEmpty else { continue }
                    for axis in 0..<last { outer[axis] = 0 }
                    for outerIndex in 0..<outerCount {
                        var inside = true
                        var offset = lastOffset
                        for axis in 0..<last {
                            let coordinate = outer[axis] * strides[axis] + tap[axis] * dilations[axis] - padsBegin[axis]
                            if coordinate < 0 || coordinate >= planeSize[axis] {
                                inside = false
                                break
                            }
                            offset += coordinate * planeStrides[axis]
                        }
                        if inside {
                            let source = row + outerIndex * lastCount
                            let destination = plane + offset
                            if lastStride == 1 {
                                for position in valid { destination[position] += source[position] }
                            } else {
                                for position in valid { destination[position * lastStride] += source[position] }
                            }
                        }
                        var axis = last - 1
                        while axis >= 0 {
                            outer[axis] += 1
                            if outer[axis] < positions[axis] { break }
                            outer[axis] = 0
                            axis -= 1
                        }
                    }
                }
            }
        }
    }

    /// The scalar reference: every input value times every tap, added at the output coordinate it
    /// maps to, accumulated in `Double`.
    /// - Parameters:
    ///   - input: `[batch, inputChannels, geometry.outputSize...]` (see the type's note on roles).
    ///   - weights: `[inputChannels, outputChannels / groups, kernel...]`.
    ///   - output: `[batch, outputChannels, geometry.inputSize...]`.
    package static func reference(input: UnsafePointer<Float>, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                  output: UnsafeMutablePointer<Float>, batch: Int, inputChannels: Int,
                                  outputChannels: Int, groups: Int, geometry: SlidingWindowGeometry) {
        let channelsPerGroup = inputChannels / groups
        let outputsPerGroup = outputChannels / groups
        let rank = geometry.rank
        let inputVolume = geometry.outputVolume, outputVolume = geometry.inputVolume
        let kernelVolume = geometry.kernelVolume
        let outputStrides = ShapeArithmetic.strides(geometry.inputSize)
        var accumulator = [Double](repeating: 0, count: batch * outputChannels * outputVolume)
        for image in 0..<batch {
            for outputChannel in 0..<outputChannels {
                let start = (image * outputChannels + outputChannel) * outputVolume
                let value = bias.map { Double($0[outputChannel]) } ?? 0
                for position in 0..<outputVolume { accumulator[start + position] = value }
            }
            for inputChannel in 0..<inputChannels {
                let group = inputChannel / channelsPerGroup
                for position in 0..<inputVolume {
                    let x = Double(input[(image * inputChannels + inputChannel) * inputVolume + position])
                    for outputInGroup in 0..<outputsPerGroup {
                        let outputChannel = group * outputsPerGroup + outputInGroup
                        for tap in 0..<kernelVolume {
                            var inside = true
                            var outputOffset = 0
                            var positionRemainder = position, tapRemainder = tap
                            for axis in stride(from: rank - 1, through: 0, by: -1) {
                                let inputCoordinate = positionRemainder % geometry.outputSize[axis]
                                positionRemainder /= geometry.outputSize[axis]
                                let tapCoordinate = tapRemainder % geometry.kernel[axis]
                                tapRemainder /= geometry.kernel[axis]
                                let coordinate = inputCoordinate * geometry.strides[axis]
                                    + tapCoordinate * geometry.dilations[axis] - geometry.padsBegin[axis]
                                if coordinate < 0 || coordinate >= geometry.inputSize[axis] { inside = false }
                                outputOffset += coordinate * outputStrides[axis]
                            }
                            guard inside else { continue }
                            let w = Double(weights[(inputChannel * outputsPerGroup + outputInGroup) * kernelVolume + tap])
                            accumulator[(image * outputChannels + outputChannel) * outputVolume + outputOffset] += x * w
                        }
                    }
                }
            }
        }
        for index in accumulator.indices { output[index] = Float(accumulator[index]) }
    }
}
