/// Depthwise 3x3 convolution (stride 1 or 2, dilation 1, any padding) of four consecutive channel
/// planes at once, with bias and activation fused.
///
/// The four planes are interleaved into zero-padded scratch rows of `SIMD4` values (lane k is
/// channel k), so an output position of all four channels is 9 aligned vector multiply-adds whose
/// weights are per-lane, whatever the plane's width or the stride. Computing the same per plane
/// (``DepthwiseKernels/convolve3x3``) needs a loop per output row whose entry, tail and unaligned
/// tap loads cost more than the arithmetic on MobileNetV2's 7x7 to 28x28 planes, and stride 2
/// needs even/odd column splits; here a stride-2 tap is just every other vector. Interleaving the
/// input and de-interleaving each output row are 4x4 transposes, a few shuffles per four outputs.
/// (ONNX Runtime gets the same effect by keeping whole networks in a channel-blocked layout.)
package enum DepthwiseChannelGroups {
    /// Channels per group: one `SIMD4` lane each.
    package static let width = 4

    /// Floats of scratch ``convolve3x3`` needs: three interleaved padded rows and one interleaved
    /// output row, rounded up so consecutive scratch blocks stay 16-byte aligned.
    package static func scratchFloats(_ geometry: SlidingWindowGeometry) -> Int {
        let floats = (3 * paddedWidth(geometry) + geometry.outputSize[1]) * width
        return (floats + 15) & ~15
    }

    private static func paddedWidth(_ geometry: SlidingWindowGeometry) -> Int {
        (geometry.outputSize[1] - 1) * geometry.strides[0] + 3
    }

    /// `output[k] = activation(bias[k] + depthwise 3x3 convolution of input[k])` for the four planes
    /// `k` at `input + k * inputVolume` and `output + k * outputVolume`.
    /// - Parameters:
    ///   - weights: 36 floats, the 9 row-major taps of each of the four channels in turn.
    ///   - bias: Four floats, or nil for none.
    ///   - scratch: ``scratchFloats(_:)`` floats, 16-byte aligned.
    ///   - paddingReady: The scratch was last used by this function with the same geometry, so its
    ///     padding is already zero (a caller convolving many groups passes true after the first).
    package static func convolve3x3(_ input: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                                    bias: UnsafePointer<Float>?, geometry: SlidingWindowGeometry,
                                    activation: FusedActivation?, scratch: UnsafeMutablePointer<Float>,
                                    paddingReady: Bool, output: UnsafeMutablePointer<Float>) {
        let inputHeight = geometry.inputSize[0], inputWidth = geometry.inputSize[1]
        let outputHeight = geometry.outputSize[0], outputWidth = geometry.outputSize[1]
        guard outputHeight > 0, outputWidth > 0 else { return }
        let inputVolume = inputHeight * inputWidth, outputVolume = outputHeight * outputWidth
        let stride = geometry.strides[0]
        let padTop = geometry.padsBegin[0], padLeft = geometry.padsBegin[1]
        let paddedWidth = paddedWidth(geometry)
        // A ring of the three padded rows an output row reads (rows r*stride ..< r*stride + 3 of the
        // padded plane), filled as the output rows advance: it stays in L1 whatever the plane's size.
        let ring = UnsafeMutableRawPointer(scratch).bindMemory(to: SIMD4<Float>.self, capacity: 3 * paddedWidth + outputWidth)
        let row = ring + 3 * paddedWidth

        // Input columns that land inside a padded row, and where. The columns outside them are the
        // same padding for every group of the node, so they are zeroed once per scratch buffer.
        let firstColumn = min(paddedWidth, max(0, padLeft))
        let lastColumn = max(firstColumn, min(paddedWidth, inputWidth + padLeft))
        if !paddingReady { ring.update(repeating: .zero, count: 3 * paddedWidth) }
        // Tap t of the four channels, one per lane.
        func tap(_ t: Int) -> SIMD4<Float> { SIMD4(weights[t], weights[9 + t], weights[18 + t], weights[27 + t]) }
        let w0 = tap(0), w1 = tap(1), w2 = tap(2), w3 = tap(3), w4 = tap(4)
        let w5 = tap(5), w6 = tap(6), w7 = tap(7), w8 = tap(8)
        let offset = bias.map { SIMD4($0[0], $0[1], $0[2], $0[3]) } ?? .zero
        let bounds = activation?.clampBounds ?? (-.infinity, .infinity)
        let low = SIMD4<Float>(repeating: bounds.low), high = SIMD4<Float>(repeating: bounds.high)
        // `slots` holds padded rows filledRows - 3 ..< filledRows in order (top, middle, bottom);
        // filling the next row recycles the top slot.
        var slots = (ring, ring + paddedWidth, ring + 2 * paddedWidth)
        var filledRows = 0
        for outputRow in 0..<outputHeight {
            while filledRows < outputRow * stride + 3 {
                let slot = slots.0
                slots = (slots.1, slots.2, slot)
                let y = filledRows - padTop
                if y >= 0 && y < inputHeight {
                    interleave(input + y * inputWidth + (firstColumn - padLeft), planeStride: inputVolume,
                               count: lastColumn - firstColumn, into: slot + firstColumn)
                } else {
                    (slot + firstColumn).update(repeating: .zero, count: lastColumn - firstColumn)
                }
                filledRows += 1
            }
            // The three rows are walked by pointer: `column * stride` indexing kept an overflow
            // check per output in the loop.
            var (top, middle, bottom) = slots
            for column in 0..<outputWidth {
                var total = offset + w0 * top[0] + w1 * top[1] + w2 * top[2]
                total += w3 * middle[0] + w4 * middle[1] + w5 * middle[2]
                total += w6 * bottom[0] + w7 * bottom[1] + w8 * bottom[2]
                total.replace(with: low, where: total .< low)
                total.replace(with: high, where: total .> high)
                row[column] = total
                top += stride
                middle += stride
                bottom += stride
            }
            deinterleave(row, count: outputWidth, into: output + outputRow * outputWidth, planeStride: outputVolume)
        }
        if let rest = activation?.unlessClamp {
            for plane in 0..<width { rest.apply(output + plane * outputVolume, count: outputVolume) }
        }
    }

    /// `destination[i][k] = source[k * planeStride + i]` for `i < count`, `k < 4`.
    @inline(__always)
    static func interleave(_ source: UnsafePointer<Float>, planeStride: Int, count: Int,
                           into destination: UnsafeMutablePointer<SIMD4<Float>>) {
        let planes = (source, source + planeStride, source + 2 * planeStride, source + 3 * planeStride)
        inBlocksOfFour(count, block: { index in
            let (a, b, c, d) = transpose((planes.0 + index).loadVector4(), (planes.1 + index).loadVector4(),
                                         (planes.2 + index).loadVector4(), (planes.3 + index).loadVector4())
            destination[index] = a
            destination[index + 1] = b
            destination[index + 2] = c
            destination[index + 3] = d
        }, single: { index in
            destination[index] = SIMD4(planes.0[index], planes.1[index], planes.2[index], planes.3[index])
        })
    }

    /// `destination[k * planeStride + i] = source[i][k]` for `i < count`, `k < 4`.
    @inline(__always)
    static func deinterleave(_ source: UnsafePointer<SIMD4<Float>>, count: Int,
                             into destination: UnsafeMutablePointer<Float>, planeStride: Int) {
        let planes = (destination, destination + planeStride, destination + 2 * planeStride, destination + 3 * planeStride)
        inBlocksOfFour(count, block: { index in
            let (a, b, c, d) = transpose(source[index], source[index + 1], source[index + 2], source[index + 3])
            (planes.0 + index).storeVector4(a)
            (planes.1 + index).storeVector4(b)
            (planes.2 + index).storeVector4(c)
            (planes.3 + index).storeVector4(d)
        }, single: { index in
            let value = source[index]
            planes.0[index] = value[0]
            planes.1[index] = value[1]
            planes.2[index] = value[2]
            planes.3[index] = value[3]
        })
    }

    /// Covers `0..<count` with `block(i)` on columns `i..<i + 4`, the last block ending exactly at
    /// `count` (overlapping the one before it when `count` is not a multiple of 4, rewriting the same
    /// values: no one-column tail, which ran 5% slower on 7x7 planes), or with `single(i)` per
    /// column when there are fewer than four.
    @inline(__always)
    private static func inBlocksOfFour(_ count: Int, block: (Int) -> Void, single: (Int) -> Void) {
        guard count >= 4 else {
            for index in 0..<count { single(index) }
            return
        }
        var index = 0
        while index + 4 < count {
            block(index)
            index += 4
        }
        block(count - 4)
    }

    /// The 4x4 transpose of rows `a`...`d` (unpack low/high pairs, then move halves).
    @inline(__always)
    static func transpose(_ a: SIMD4<Float>, _ b: SIMD4<Float>, _ c: SIMD4<Float>, _ d: SIMD4<Float>)
        -> (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>) {
        let abLow = SIMD4(a[0], b[0], a[1], b[1]), abHigh = SIMD4(a[2], b[2], a[3], b[3])
        let cdLow = SIMD4(c[0], d[0], c[1], d[1]), cdHigh = SIMD4(c[2], d[2], c[3], d[3])
        return (SIMD4(lowHalf: abLow.lowHalf, highHalf: cdLow.lowHalf),
                SIMD4(lowHalf: abLow.highHalf, highHalf: cdLow.highHalf),
                SIMD4(lowHalf: abHigh.lowHalf, highHalf: cdHigh.lowHalf),
                SIMD4(lowHalf: abHigh.highHalf, highHalf: cdHigh.highHalf))
    }
}
