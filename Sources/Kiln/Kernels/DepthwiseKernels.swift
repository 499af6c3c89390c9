/// A single-pass depthwise 3x3 kernel (stride 1 or 2, dilation 1, any padding) for one channel
/// plane, with bias and activation fused.
///
/// The plane is first copied into a zero-padded scratch plane (for stride 2 split, straight from the
/// input, into its even and odd columns), so every output row is one loop over contiguous memory
/// with 9 multiply-adds per output and no bounds tests; it vectorizes at the baseline SSE2 build. The general
/// ``ConvolutionKernels/depthwise2D(_:weights:bias:geometry:output:)`` instead makes one pass over
/// each output row per tap, and its stride-2 loads do not vectorize.
package enum DepthwiseKernels {
    /// Whether ``convolve3x3`` handles this geometry.
    package static func applies3x3(_ geometry: SlidingWindowGeometry) -> Bool {
        geometry.rank == 2 && geometry.kernel == [3, 3] && geometry.dilations == [1, 1]
            && (geometry.strides == [1, 1] || geometry.strides == [2, 2])
    }

    /// Floats of scratch ``convolve3x3`` needs for one plane.
    package static func scratchFloats(_ geometry: SlidingWindowGeometry) -> Int {
        let stride = geometry.strides[0]
        let paddedHeight = (geometry.outputSize[0] - 1) * stride + 3
        let paddedWidth = (geometry.outputSize[1] - 1) * stride + 3
        return max(1, paddedHeight * (paddedWidth + 1))
    }

    /// `output = activation(bias + depthwise 3x3 convolution of one plane)`.
    /// - Parameters:
    ///   - weights: The 9 taps, row-major.
    ///   - scratch: ``scratchFloats(_:)`` floats.
    package static func convolve3x3(_ input: UnsafePointer<Float>, weights: UnsafePointer<Float>, bias: Float,
                                    geometry: SlidingWindowGeometry, activation: FusedActivation?,
                                    scratch: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>) {
        let inputHeight = geometry.inputSize[0], inputWidth = geometry.inputSize[1]
        let outputHeight = geometry.outputSize[0], outputWidth = geometry.outputSize[1]
        guard outputHeight > 0, outputWidth > 0 else { return }
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
                destination.update(repeating: 0, count: firstColumn)
                (destination + firstColumn).update(from: input + y * inputWidth + (firstColumn - padLeft), count: copied)
                (destination + lastColumn).update(repeating: 0, count: paddedWidth - lastColumn)
            } else {
                // Split straight from the input, one (even, odd) pair per step so the loads form a
                // single interleaved group the vectorizer turns into wide loads and shuffles; only
                // the pairs that straddle the padding take the bounds-tested path.
                let odd = destination + evenCount
                let source = input + y * inputWidth - padLeft
                func padded(_ column: Int) -> Float {
                    column >= firstColumn && column < lastColumn ? source[column] : 0
                }
                let firstPair = min((firstColumn + 1) / 2, evenCount)
                let endPair = max(firstPair, lastColumn / 2)
                for pair in 0..<firstPair {
                    destination[pair] = padded(2 * pair)
                    odd[pair] = padded(2 * pair + 1)
                }
                for pair in firstPair..<endPair {
                    destination[pair] = source[2 * pair]
                    odd[pair] = source[2 * pair + 1]
                }
                for pair in endPair..<evenCount {
                    destination[pair] = padded(2 * pair)
                    if pair < outputWidth { odd[pair] = padded(2 * pair + 1) }
                }
            }
        }

        let w00 = weights[0], w01 = weights[1], w02 = weights[2]
        let w10 = weights[3], w11 = weights[4], w12 = weights[5]
        let w20 = weights[6], w21 = weights[7], w22 = weights[8]
        for outputRow in 0..<outputHeight {
            let top = scratch + outputRow * stride * rowPitch
            let middle = top + rowPitch, bottom = middle + rowPitch
            let destination = output + outputRow * outputWidth
            if stride == 1 {
                for column in 0..<outputWidth {
                    var total = bias + w00 * top[column] + w01 * top[column + 1] + w02 * top[column + 2]
                    total += w10 * middle[column] + w11 * middle[column + 1] + w12 * middle[column + 2]
                    total += w20 * bottom[column] + w21 * bottom[column + 1] + w22 * bottom[column + 2]
                    destination[column] = total
                }
            } else {
                let topOdd = top + evenCount, middleOdd = middle + evenCount, bottomOdd = bottom + evenCount
                for column in 0..<outputWidth {
                    var total = bias + w00 * top[column] + w01 * topOdd[column] + w02 * top[column + 1]
                    total += w10 * middle[column] + w11 * middleOdd[column] + w12 * middle[column + 1]
                    total += w20 * bottom[column] + w21 * bottomOdd[column] + w22 * bottom[column + 1]
                    destination[column] = total
                }
            }
            activation?.apply(destination, count: outputWidth)
        }
    }
}
