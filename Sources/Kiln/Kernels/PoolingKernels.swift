/// What a pooling window computes.
package enum PoolingMode: Sendable, Equatable {
    case maximum
    /// Mean of the window. With `countIncludePad`, padding positions (up to the explicit end pads)
    /// count in the divisor; without it, only input positions do.
    case average(countIncludePad: Bool)
}

/// Pooling of one channel plane over any number of spatial axes.
///
/// The fast kernel pools one axis at a time (first axis first): a box window's maximum is the
/// maximum of per-axis maxima, and its mean is the product of per-axis means because the divisor
/// (the count of positions taken) is a product of per-axis counts. Each 1-D pass runs for every
/// kernel tap over the contiguous range of outputs that tap can reach, so the inner loops have no
/// bounds tests. Pooling along a leading axis vectorizes across whole rows of the trailing axes;
/// taking those first means the last-axis pass, which works row by row (and for stride 2 splits
/// each row into even and odd halves), runs on rows already reduced by the leading strides: a
/// 3x3 stride-2 MaxPool over 111x111 makes 55 row passes instead of 111 (about 2x faster).
package enum PoolingKernels {
    /// Floats of scratch ``pool(_:geometry:mode:output:scratch:)`` needs for one plane.
    package static func scratchCount(_ geometry: SlidingWindowGeometry, mode: PoolingMode) -> Int {
        if poolsMaximumByRows(geometry, mode: mode) { return 2 * geometry.inputSize[1] + 2 }
        var largest = 0
        // After pooling axis `a` (from the first one up to rank - 2) the plane holds outputs up to
        // `a` and inputs after it; those intermediates alternate between two buffers.
        for axis in 0..<max(0, geometry.rank - 1) {
            let volume = geometry.outputSize[0...axis].reduce(1, *) * geometry.inputSize[(axis + 1)...].reduce(1, *)
            largest = max(largest, volume)
        }
        return 2 * largest
    }

    /// Pools one plane of `geometry.inputVolume` floats into `geometry.outputVolume` floats.
    /// - Parameter scratch: At least ``scratchCount(_:mode:)`` floats.
    package static func pool(_ input: UnsafePointer<Float>, geometry: SlidingWindowGeometry, mode: PoolingMode,
                             output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let rank = geometry.rank
        guard geometry.outputVolume > 0 else { return }
        if poolsMaximumByRows(geometry, mode: mode) {
            maximumByRows(input, geometry: geometry, output: output, scratch: scratch)
            return
        }
        var shape = geometry.inputSize
        var source = input
        let half = scratchCount(geometry, mode: mode) / 2
        var useFirstBuffer = true
        for axis in 0..<rank {
            let outer = shape[0..<axis].reduce(1, *)
            let inner = shape[(axis + 1)...].reduce(1, *)
            let destination = axis == rank - 1 ? output : (useFirstBuffer ? scratch : scratch + half)
            poolAxis(source, outer: outer, inner: inner, axis: axis, geometry: geometry, mode: mode, into: destination)
            shape[axis] = geometry.outputSize[axis]
            source = UnsafePointer(destination)
            useFirstBuffer.toggle()
        }
    }

    /// The running maximum of max pooling, which every path starts from -inf and updates the same
    /// way, so a NaN input is skipped alike on all of them.
    @inline(__always)
    private static func larger(_ value: Float, _ current: Float) -> Float {
        value > current ? value : current
    }

    /// Whether ``maximumByRows(_:geometry:output:scratch:)`` handles this pooling: 2-D max pooling
    /// without dilation, with a horizontal stride of 1 or 2 (every MaxPool of the CNNs in the zoo).
    private static func poolsMaximumByRows(_ geometry: SlidingWindowGeometry, mode: PoolingMode) -> Bool {
        mode == .maximum && geometry.rank == 2 && geometry.dilations == [1, 1]
            && (geometry.strides[1] == 1 || geometry.strides[1] == 2)
    }

    /// 2-D max pooling one output row at a time: the maximum of the window's input rows goes into a
    /// row buffer, which the horizontal taps then reduce (for stride 2, split into even and odd
    /// columns first). Nothing the size of the plane is written besides the output, where the
    /// separable passes wrote and re-read a `[outputHeight, inputWidth]` intermediate once per tap
    /// (SqueezeNet's first MaxPool took 3.7x as long as ONNX Runtime's that way).
    /// - Parameter scratch: `2 * inputWidth + 2` floats.
    private static func maximumByRows(_ input: UnsafePointer<Float>, geometry: SlidingWindowGeometry,
                                      output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let inputHeight = geometry.inputSize[0], inputWidth = geometry.inputSize[1]
        let outputHeight = geometry.outputSize[0], outputWidth = geometry.outputSize[1]
        let kernelHeight = geometry.kernel[0], kernelWidth = geometry.kernel[1]
        let strideHeight = geometry.strides[0], strideWidth = geometry.strides[1]
        let padTop = geometry.padsBegin[0], padLeft = geometry.padsBegin[1]
        let rowMaximum = scratch
        let even = scratch + inputWidth + 1, odd = even + (inputWidth + 1) / 2
        // Output columns every horizontal tap reaches: there one loop takes the window's maximum in
        // registers; only the few columns at the edges go tap by tap.
        var innerLower = 0, innerUpper = outputWidth
        for tapColumn in 0..<kernelWidth {
            let valid = geometry.validOutputRange(axis: 1, tap: tapColumn)
            innerLower = max(innerLower, valid.lowerBound)
            innerUpper = min(innerUpper, valid.upperBound)
        }
        let inner = innerLower..<max(innerLower, innerUpper)
        for outputRow in 0..<outputHeight {
            let firstRow = outputRow * strideHeight - padTop
            if kernelHeight == 3 && firstRow >= 0 && firstRow + 2 < inputHeight {
                let top = input + firstRow * inputWidth, middle = top + inputWidth, bottom = middle + inputWidth
                for column in 0..<inputWidth {
                    rowMaximum[column] = larger(bottom[column], larger(middle[column], larger(top[column], -.infinity)))
                }
            } else {
                rowMaximum.update(repeating: -.infinity, count: inputWidth)
                for tapRow in 0..<kernelHeight {
                    let inputRow = firstRow + tapRow
                    guard inputRow >= 0 && inputRow < inputHeight else { continue }
                    let source = input + inputRow * inputWidth
                    for column in 0..<inputWidth {
                        rowMaximum[column] = larger(source[column], rowMaximum[column])
                    }
                }
            }
            if kernelWidth == 3 && strideWidth == 2 {
                maximum3Stride2(UnsafePointer(rowMaximum), inputWidth: inputWidth, padLeft: padLeft, inner: inner,
                                into: output + outputRow * outputWidth, count: outputWidth)
                continue
            }
            if strideWidth == 2 {
                EvenOddSplit.split(rowMaximum, first: 0, last: inputWidth, paddedWidth: inputWidth, even: even, odd: odd)
            }
            // Where tap `t` of output column c reads: stride 1, rowMaximum[c + t - padLeft]; stride
            // 2, input column 2c + offset, which is in the even half when `offset` is even and the
            // odd half otherwise, at c + floor(offset / 2).
            func tapInput(_ tapColumn: Int) -> UnsafePointer<Float> {
                let offset = tapColumn - padLeft
                return strideWidth == 1
                    ? UnsafePointer(rowMaximum + offset)
                    : UnsafePointer((offset & 1 == 0 ? even : odd) + (offset >> 1))
            }
            let destination = output + outputRow * outputWidth
            if kernelWidth == 3 {
                let left = tapInput(0), center = tapInput(1), right = tapInput(2)
                for column in inner {
                    destination[column] = larger(right[column], larger(center[column], larger(left[column], -.infinity)))
                }
            } else {
                (destination + inner.lowerBound).update(repeating: -.infinity, count: inner.count)
                for tapColumn in 0..<kernelWidth {
                    let source = tapInput(tapColumn)
                    for column in inner {
                        destination[column] = larger(source[column], destination[column])
                    }
                }
            }
            func edge(_ column: Int) {
                var maximum = -Float.infinity
                for tapColumn in 0..<kernelWidth where geometry.validOutputRange(axis: 1, tap: tapColumn).contains(column) {
                    maximum = larger(tapInput(tapColumn)[column], maximum)
                }
                destination[column] = maximum
            }
            for column in 0..<inner.lowerBound { edge(column) }
            for column in inner.upperBound..<outputWidth { edge(column) }
        }
    }

    /// The horizontal half of a 3-wide, stride-2 max pooling, from a row already reduced over the
    /// window's rows, in registers: for four output columns `c..<c+4` the window columns start at
    /// `x = 2c - padLeft`, so the vectors `x..<x+4` and `x+4..<x+8` hold taps 0 and 1 in their even
    /// and odd lanes, and tap 2 is the even lanes shifted by one plus column `x + 8`. Splitting the
    /// row into even and odd halves first and then reducing the taps took one more pass through
    /// memory per row (SqueezeNet's three MaxPools: 0.17 ms at 2 threads against ONNX Runtime's
    /// 0.05). The row comes from memory on purpose: computing its maximum in the same loop let LLVM
    /// move the lane shuffles ahead of the comparisons, and it then blended by masks instead of
    /// using `maxps` (three times slower). The row holds no NaN (the fold from -inf skips it), so
    /// the taps fold without -inf and the result is the same as the general path's.
    private static func maximum3Stride2(_ row: UnsafePointer<Float>, inputWidth: Int, padLeft: Int, inner: Range<Int>,
                                        into destination: UnsafeMutablePointer<Float>, count outputWidth: Int) {
        var outputColumn = inner.lowerBound
        // Groups of 16 (in builds for AVX-512), then of four, whose input columns lie inside the row.
        if BuildTarget.hasAVX512 {
            outputColumn = maximum3Stride2Groups(row, padLeft: padLeft, from: outputColumn, to: inner.upperBound,
                                                 into: destination, as: SIMD16<Float>.self)
        }
        outputColumn = maximum3Stride2Groups(row, padLeft: padLeft, from: outputColumn, to: inner.upperBound,
                                             into: destination, as: SIMD4<Float>.self)
        // The rest one column at a time; at the edges the window reaches into the padding (or, in
        // ceil mode, past the row) and only the taps inside the row count.
        func single(_ outputColumn: Int) {
            var maximum = -Float.infinity
            for tap in 0..<3 {
                let x = 2 * outputColumn - padLeft + tap
                if x >= 0 && x < inputWidth { maximum = larger(row[x], maximum) }
            }
            destination[outputColumn] = maximum
        }
        for remaining in outputColumn..<inner.upperBound { single(remaining) }
        for edge in 0..<min(inner.lowerBound, outputWidth) { single(edge) }
        for edge in min(inner.upperBound, outputWidth)..<outputWidth { single(edge) }
    }

    /// ``maximum3Stride2(_:inputWidth:padLeft:inner:into:count:)`` for output columns `from..<to`
    /// in groups of `Vector.scalarCount`; returns the first column it left. Left, centre and right
    /// taps are the even and odd lanes of two loads at `x` and the even lanes of two at `x + 2`.
    /// The last group's loads reach column `x + 2 * lanes + 1`, one past its window: the caller's
    /// row buffer has that float.
    @inline(__always)
    package static func maximum3Stride2Groups<Vector: FloatVector>(
        _ row: UnsafePointer<Float>, padLeft: Int, from start: Int, to end: Int,
        into destination: UnsafeMutablePointer<Float>, as _: Vector.Type
    ) -> Int {
        let lanes = Vector.scalarCount
        // The running maximum starts from -inf as on the scalar path, so a NaN in any tap is skipped.
        let lowest = Vector(repeating: -.infinity)
        var outputColumn = start
        while outputColumn + lanes <= end {
            let x = 2 * outputColumn - padLeft
            let low: Vector = (row + x).loadVector(), high: Vector = (row + x + lanes).loadVector()
            let shiftedLow: Vector = (row + x + 2).loadVector(), shiftedHigh: Vector = (row + x + 2 + lanes).loadVector()
            let left = Vector.evenLanes(low, high), center = Vector.oddLanes(low, high)
            let right = Vector.evenLanes(shiftedLow, shiftedHigh)
            (destination + outputColumn).storeVector(right.larger(center.larger(left.larger(lowest))))
            outputColumn += lanes
        }
        return outputColumn
    }

    /// One separable pass: `[outer, inputSize[axis], inner]` to `[outer, outputSize[axis], inner]`.
    private static func poolAxis(_ source: UnsafePointer<Float>, outer: Int, inner: Int, axis: Int,
                                 geometry: SlidingWindowGeometry, mode: PoolingMode,
                                 into destination: UnsafeMutablePointer<Float>) {
        let inputLength = geometry.inputSize[axis], outputLength = geometry.outputSize[axis]
        let kernel = geometry.kernel[axis], stride = geometry.strides[axis], dilation = geometry.dilations[axis]
        let padBegin = geometry.padsBegin[axis], padEnd = geometry.padsEnd[axis]
        guard outer > 0, inner > 0, outputLength > 0 else { return }
        let isMaximum = mode == .maximum

        // A stride-2 pass along the last axis reads every other input; gathering those loads does
        // not vectorize at baseline SSE2, so each input row is split once into its even and odd
        // positions and every tap then reads one of the halves contiguously.
        let splitsRows = inner == 1 && stride == 2
        let evenCount = (inputLength + 1) / 2
        withUnsafeTemporaryAllocation(of: Float.self, capacity: splitsRows ? inputLength + 1 : 1) { halvesBuffer in
        let even = halvesBuffer.baseAddress!, odd = even + evenCount
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * kernel) { ranges in
            for tap in 0..<kernel {
                let valid = geometry.validOutputRange(axis: axis, tap: tap)
                ranges[2 * tap] = valid.lowerBound
                ranges[2 * tap + 1] = valid.upperBound
            }
            for block in 0..<outer {
                let input = source + block * inputLength * inner
                let output = destination + block * outputLength * inner
                output.update(repeating: isMaximum ? -.infinity : 0, count: outputLength * inner)
                if splitsRows {
                    EvenOddSplit.split(input, first: 0, last: inputLength, paddedWidth: inputLength, even: even, odd: odd)
                }
                for tap in 0..<kernel {
                    let lower = ranges[2 * tap], upper = ranges[2 * tap + 1]
                    let offset = tap * dilation - padBegin
                    let tapInput = input + offset * inner
                    if splitsRows {
                        // Input position 2 * position + offset is in the even half when `offset` is
                        // even and the odd half otherwise, at position + floor(offset / 2).
                        let half = UnsafePointer((offset & 1 == 0 ? even : odd) + (offset >> 1))
                        if isMaximum {
                            for position in lower..<upper {
                                output[position] = larger(half[position], output[position])
                            }
                        } else {
                            for position in lower..<upper { output[position] += half[position] }
                        }
                    } else if inner == 1 {
                        if isMaximum {
                            for position in lower..<upper {
                                output[position] = larger(tapInput[position * stride], output[position])
                            }
                        } else {
                            for position in lower..<upper { output[position] += tapInput[position * stride] }
                        }
                    } else {
                        for position in lower..<upper {
                            let row = output + position * inner
                            let inputRow = tapInput + position * stride * inner
                            if isMaximum {
                                for column in 0..<inner {
                                    row[column] = larger(inputRow[column], row[column])
                                }
                            } else {
                                for column in 0..<inner { row[column] += inputRow[column] }
                            }
                        }
                    }
                }
            }
        }
        }
        guard case .average(let countIncludePad) = mode else { return }
        let paddedLower = countIncludePad ? -padBegin : 0
        let paddedUpper = countIncludePad ? inputLength + padEnd : inputLength
        for position in 0..<outputLength {
            var count = 0
            for tap in 0..<kernel {
                let coordinate = position * stride + tap * dilation - padBegin
                if coordinate >= paddedLower && coordinate < paddedUpper { count += 1 }
            }
            // A window holding no counted position (only possible in ceil mode) averages to 0.
            let scale: Float = count > 0 ? 1 / Float(count) : 0
            for block in 0..<outer {
                let row = destination + (block * outputLength + position) * inner
                for column in 0..<inner { row[column] *= scale }
            }
        }
    }

    /// The scalar reference: for every output position, every tap of the window with bounds tests,
    /// accumulating in `Double`.
    package static func reference(_ input: UnsafePointer<Float>, geometry: SlidingWindowGeometry, mode: PoolingMode,
                                  output: UnsafeMutablePointer<Float>) {
        let rank = geometry.rank
        let inputStrides = ShapeArithmetic.strides(geometry.inputSize)
        for position in 0..<geometry.outputVolume {
            var maximum = -Double.infinity
            var total = 0.0
            var count = 0
            for tap in 0..<geometry.kernelVolume {
                var insideInput = true, insidePadded = true
                var offset = 0
                var positionRemainder = position, tapRemainder = tap
                for axis in stride(from: rank - 1, through: 0, by: -1) {
                    let outputCoordinate = positionRemainder % geometry.outputSize[axis]
                    positionRemainder /= geometry.outputSize[axis]
                    let tapCoordinate = tapRemainder % geometry.kernel[axis]
                    tapRemainder /= geometry.kernel[axis]
                    let coordinate = outputCoordinate * geometry.strides[axis]
                        + tapCoordinate * geometry.dilations[axis] - geometry.padsBegin[axis]
                    if coordinate < 0 || coordinate >= geometry.inputSize[axis] { insideInput = false }
                    if coordinate < -geometry.padsBegin[axis]
                        || coordinate >= geometry.inputSize[axis] + geometry.padsEnd[axis] { insidePadded = false }
                    offset += coordinate * inputStrides[axis]
                }
                if insideInput {
                    let value = Double(input[offset])
                    maximum = max(maximum, value)
                    total += value
                }
                switch mode {
                case .maximum: break
                case .average(let countIncludePad):
                    if countIncludePad ? insidePadded : insideInput { count += 1 }
                }
            }
            switch mode {
            case .maximum: output[position] = Float(maximum)
            case .average: output[position] = count > 0 ? Float(total / Double(count)) : 0
            }
        }
    }
}
