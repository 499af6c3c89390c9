/// 2-D max pooling of channels-last input (`[N, H, W, C]` to `[N, outH, outW, C]`; any window,
/// stride, dilation and padding): a position's channels are contiguous, so each window tap is one
/// vector maximum over a block of channels, 16 lanes in AVX-512 builds (``BuildTarget``) when the
/// channels divide by 16, else 4, and the rest one by one.
///
/// The NCHW kernels (``PoolingKernels``) slide a window along each channel plane, where a 3x3
/// stride-2 window needs shuffles to gather its taps; here every tap is a plain load. Padding never
/// wins and a NaN is skipped, as in those kernels (the running maximum starts from -infinity and
/// takes a value only when it is greater).
package enum MaxPoolChannelsLast {
    package static func pool(_ x: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>, batch: Int, channels: Int,
                             geometry: SlidingWindowGeometry, context: ExecutionContext, lanes: Int? = nil) {
        let lanes = lanes ?? (BuildTarget.hasAVX512 && channels % 16 == 0 ? 16 : 4)
        let outputHeight = geometry.outputSize[0], outputWidth = geometry.outputSize[1]
        let rows = batch * outputHeight
        let work = max(1, outputWidth * channels * geometry.kernelVolume)
        context.parallelFor(rows, minimumChunk: max(1, 65_536 / work)) { range in
            if lanes == 16 {
                poolRows(SIMD16<Float>.self, x, y, rows: range, channels: channels, geometry: geometry)
            } else {
                poolRows(SIMD4<Float>.self, x, y, rows: range, channels: channels, geometry: geometry)
            }
        }
    }

    /// Output rows `rows` (flattened over the batch).
    private static func poolRows<Vector: FloatVector>(_: Vector.Type, _ x: UnsafePointer<Float>,
                                                      _ y: UnsafeMutablePointer<Float>, rows: Range<Int>, channels: Int,
                                                      geometry: SlidingWindowGeometry) {
        let window = geometry.planar
        let lanes = Vector.scalarCount
        let vectorChannels = channels / lanes * lanes
        let lowest = Vector(repeating: -.infinity)
        for row in rows {
            let image = row / window.outputHeight, outputRow = row % window.outputHeight
            let top = outputRow * window.strideHeight - window.padTop
            // The window's rows that fall inside the input; padding never wins.
            let tapRows = SlidingWindowGeometry.validRange(offset: top, stride: window.dilationHeight,
                                                           limit: window.inputHeight, count: window.kernelHeight)
            let imageBase = x + image * window.inputHeight * window.inputWidth * channels
            for column in 0..<window.outputWidth {
                let left = column * window.strideWidth - window.padLeft
                let tapColumns = SlidingWindowGeometry.validRange(offset: left, stride: window.dilationWidth,
                                                                  limit: window.inputWidth, count: window.kernelWidth)
                let target = y + (row * window.outputWidth + column) * channels
                // Where tap (tapRow, tapColumn)'s channels start.
                @inline(__always) func tap(_ tapRow: Int, _ tapColumn: Int) -> UnsafePointer<Float> {
                    let inputRow = top + tapRow * window.dilationHeight
                    let inputColumn = left + tapColumn * window.dilationWidth
                    return imageBase + (inputRow * window.inputWidth + inputColumn) * channels
                }
                var channel = 0
                // Four vectors at a time: four independent maxima, where one running maximum
                // made each tap wait for the previous one's compare and blend (ResNet's 3x3
                // stride-2 pooling of 64 channels, 2 threads: 0.099 ms against ONNX Runtime's 0.051).
                while channel + 4 * lanes <= vectorChannels {
                    var m0 = lowest, m1 = lowest, m2 = lowest, m3 = lowest
                    for tapRow in tapRows {
                        for tapColumn in tapColumns {
                            let start = tap(tapRow, tapColumn) + channel
                            m0 = start.loadVector(as: Vector.self).larger(m0)
                            m1 = (start + lanes).loadVector(as: Vector.self).larger(m1)
                            m2 = (start + 2 * lanes).loadVector(as: Vector.self).larger(m2)
                            m3 = (start + 3 * lanes).loadVector(as: Vector.self).larger(m3)
                        }
                    }
                    (target + channel).storeVector(m0)
                    (target + channel + lanes).storeVector(m1)
                    (target + channel + 2 * lanes).storeVector(m2)
                    (target + channel + 3 * lanes).storeVector(m3)
                    channel += 4 * lanes
                }
                while channel < vectorChannels {
                    var maximum = lowest
                    for tapRow in tapRows {
                        for tapColumn in tapColumns {
                            maximum = (tap(tapRow, tapColumn) + channel).loadVector(as: Vector.self).larger(maximum)
                        }
                    }
                    (target + channel).storeVector(maximum)
                    channel += lanes
                }
                while channel < channels {
                    var maximum = -Float.infinity
                    for tapRow in tapRows {
                        for tapColumn in tapColumns {
                            let value = tap(tapRow, tapColumn)[channel]
                            maximum = value > maximum ? value : maximum
                        }
                    }
                    target[channel] = maximum
                    channel += 1
                }
            }
        }
    }
}
