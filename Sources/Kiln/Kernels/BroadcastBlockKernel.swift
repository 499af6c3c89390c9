/// The inner block of Kiln's direct kernels for AVX-512 builds: six rows of output by 64 columns in
/// 24 sixteen-lane accumulators, each input value broadcast and multiplied into the four weight
/// vectors of its channel (and tap). Per input channel that is 4 weight loads and 6 broadcasts for
/// 24 FMAs, which keeps both FMA pipes of a Zen 5 core busy: 255-261 GFLOP/s on one core against a
/// nominal 264 in a standalone product (OpenBLAS 0.3.21's Cooper Lake `sgemm`: 197-223 on the same
/// shapes, MLP and MiniLM layers). The same arrangement as ONNX Runtime's MLAS kernels.
///
/// Used by ``DirectConvolutionChannelsLast`` (rows are output positions, columns output channels)
/// and ``PackedMatrixMultiplication`` (rows of A, columns of B). Sixteen-lane vectors run at full
/// speed only in AVX-512 builds (``BuildTarget``); elsewhere the kernel is correct but slow.
package enum BroadcastBlockKernel {
    package typealias Vector = SIMD16<Float>
    /// Output rows per block.
    package static let rows = 6
    /// Output columns per block: four vectors.
    package static let columns = 64

    /// How a caller splits `activation` around ``block6``: a clamp (Relu, Clip) goes inside it as
    /// `bounds`, after the residual, and `remaining` is what the caller applies to each stored row
    /// itself. The bounds are two vectors kept in memory and read only after the accumulation:
    /// passed as vectors, they held two registers and pushed two of the 24 accumulators onto the
    /// stack inside the loop.
    /// No clamp and Relu's share process-wide arrays, so the common cases allocate nothing per call.
    package static func epilogue(activation: FusedActivation?) -> (bounds: [SIMD16<Float>], remaining: FusedActivation?) {
        let (low, high) = activation?.clampBounds ?? (-.infinity, .infinity)
        let bounds = if low == -.infinity && high == .infinity {
            noBounds
        } else if low == 0 && high == .infinity {
            reluBounds
        } else {
            [Vector(repeating: low), Vector(repeating: high)]
        }
        return (bounds, activation?.unlessClamp)
    }

    private static let reluBounds = [Vector(repeating: 0), Vector(repeating: .infinity)]

    /// `(-inf, +inf)` as ``block6(_:channels:tapOffsets:taps:weights:bias:bounds:residuals:outputs:)``'s
    /// bounds, for a caller that clamps later (after a transform or a copy). One constant for the
    /// process, so those callers allocate nothing per call for it.
    package static let noBounds = [Vector(repeating: -.infinity), Vector(repeating: .infinity)]

    /// How the callers cut `blocks` row blocks into chunks to go through panel by panel (see
    /// ``PackedMatrixMultiplication``): at most 128 rows or about 512 KiB of input (`rowFloats` per
    /// row) per chunk, whichever is more, and chunks of equal size, so that the items a parallel
    /// loop skips past the last block are few and the threads' shares stay even.
    package static func rowChunks(blocks: Int, rowFloats: Int) -> (count: Int, blocksPerChunk: Int) {
        let limit = max(1, min(blocks, max(128, (1 << 17) / max(1, rowFloats)) / rows + 1))
        let count = (blocks + limit - 1) / limit
        return (count, (blocks + count - 1) / max(1, count))
    }

    /// Runs `body` with room for the six input, six output and six residual row pointers ``block6``
    /// takes.
    @inline(__always)
    package static func withRowSlots(
        _ body: (UnsafeMutablePointer<UnsafePointer<Float>>, UnsafeMutablePointer<UnsafeMutablePointer<Float>?>,
                 UnsafeMutablePointer<UnsafePointer<Float>?>) -> Void
    ) {
        var slots: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &slots) { raw in
            let inputs = raw.baseAddress!.bindMemory(to: UnsafePointer<Float>.self, capacity: rows)
            let outputs = (raw.baseAddress! + rows * MemoryLayout<Int>.stride)
                .bindMemory(to: UnsafeMutablePointer<Float>?.self, capacity: rows)
            let residuals = (raw.baseAddress! + 2 * rows * MemoryLayout<Int>.stride)
                .bindMemory(to: UnsafePointer<Float>?.self, capacity: rows)
            body(inputs, outputs, residuals)
        }
    }

    /// `value` limited to `low...high`, a NaN lane kept (as ``FusedActivation/clamp(_:low:high:)``).
    @inline(__always)
    private static func clamp(_ value: Vector, _ low: Vector, _ high: Vector) -> Vector {
        value.replacing(with: low, where: value .< low).replacing(with: high, where: value .> high)
    }

    /// Six output rows x 64 output columns, over every tap and input channel: row `r` reads its
    /// `channels` inputs of tap `t` at `inputs[r] + tapOffsets[t]` (each row its own address, so a
    /// block can skip padding columns or cross into the next image row), the weights are
    /// `[taps, channels, 64]`; started from `bias` (or zero), plus `residuals[row]` (64 floats,
    /// when both are given), clamped to `bounds[0]...bounds[1]` and stored to `outputs[row]` (a nil output skips its row; its input must still be readable).
    @inline(__always)
    package static func block6(_ inputs: UnsafePointer<UnsafePointer<Float>>, channels: Int,
                               tapOffsets: UnsafePointer<Int>, taps: Int,
                               weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               bounds: UnsafePointer<Vector>, residuals: UnsafePointer<UnsafePointer<Float>?>?,
                               outputs: UnsafePointer<UnsafeMutablePointer<Float>?>) {
        let zeroBias = Vector()
        let b0 = bias.map { $0.loadVector(as: Vector.self) } ?? zeroBias
        let b1 = bias.map { ($0 + 16).loadVector(as: Vector.self) } ?? zeroBias
        let b2 = bias.map { ($0 + 32).loadVector(as: Vector.self) } ?? zeroBias
        let b3 = bias.map { ($0 + 48).loadVector(as: Vector.self) } ?? zeroBias
        var a00 = b0, a01 = b1, a02 = b2, a03 = b3
        var a10 = b0, a11 = b1, a12 = b2, a13 = b3
        var a20 = b0, a21 = b1, a22 = b2, a23 = b3
        var a30 = b0, a31 = b1, a32 = b2, a33 = b3
        var a40 = b0, a41 = b1, a42 = b2, a43 = b3
        var a50 = b0, a51 = b1, a52 = b2, a53 = b3
        var w = weights
        let c = channels
        let row0 = inputs[0], row1 = inputs[1], row2 = inputs[2], row3 = inputs[3], row4 = inputs[4], row5 = inputs[5]
        for tap in 0..<taps {
            let offset = tapOffsets[tap]
            let x0 = row0 + offset, x1 = row1 + offset, x2 = row2 + offset
            let x3 = row3 + offset, x4 = row4 + offset, x5 = row5 + offset
            for k in 0..<c {
                let w0 = w.loadVector(as: Vector.self), w1 = (w + 16).loadVector(as: Vector.self)
                let w2 = (w + 32).loadVector(as: Vector.self), w3 = (w + 48).loadVector(as: Vector.self)
                w += columns
                var v = Vector(repeating: x0[k])
                a00.addProduct(v, w0); a01.addProduct(v, w1); a02.addProduct(v, w2); a03.addProduct(v, w3)
                v = Vector(repeating: x1[k])
                a10.addProduct(v, w0); a11.addProduct(v, w1); a12.addProduct(v, w2); a13.addProduct(v, w3)
                v = Vector(repeating: x2[k])
                a20.addProduct(v, w0); a21.addProduct(v, w1); a22.addProduct(v, w2); a23.addProduct(v, w3)
                v = Vector(repeating: x3[k])
                a30.addProduct(v, w0); a31.addProduct(v, w1); a32.addProduct(v, w2); a33.addProduct(v, w3)
                v = Vector(repeating: x4[k])
                a40.addProduct(v, w0); a41.addProduct(v, w1); a42.addProduct(v, w2); a43.addProduct(v, w3)
                v = Vector(repeating: x5[k])
                a50.addProduct(v, w0); a51.addProduct(v, w1); a52.addProduct(v, w2); a53.addProduct(v, w3)
            }
        }
        // The residual goes into the accumulators before the clamp: a ResNet block's `Relu(conv + Z)`
        // leaves nothing for a pass over the stored rows (which cost a call per row).
        if let residuals {
            if let z = residuals[0] {
                a00 += z.loadVector(); a01 += (z + 16).loadVector(); a02 += (z + 32).loadVector(); a03 += (z + 48).loadVector()
            }
            if let z = residuals[1] {
                a10 += z.loadVector(); a11 += (z + 16).loadVector(); a12 += (z + 32).loadVector(); a13 += (z + 48).loadVector()
            }
            if let z = residuals[2] {
                a20 += z.loadVector(); a21 += (z + 16).loadVector(); a22 += (z + 32).loadVector(); a23 += (z + 48).loadVector()
            }
            if let z = residuals[3] {
                a30 += z.loadVector(); a31 += (z + 16).loadVector(); a32 += (z + 32).loadVector(); a33 += (z + 48).loadVector()
            }
            if let z = residuals[4] {
                a40 += z.loadVector(); a41 += (z + 16).loadVector(); a42 += (z + 32).loadVector(); a43 += (z + 48).loadVector()
            }
            if let z = residuals[5] {
                a50 += z.loadVector(); a51 += (z + 16).loadVector(); a52 += (z + 32).loadVector(); a53 += (z + 48).loadVector()
            }
        }
        let low = bounds[0], high = bounds[1]
        // Written out, not through a helper taking the four vectors: Swift did not inline that one
        // and passed it the vectors in 128-bit pieces through memory.
        if let target = outputs[0] {
            target.storeVector(clamp(a00, low, high))
            (target + 16).storeVector(clamp(a01, low, high))
            (target + 32).storeVector(clamp(a02, low, high))
            (target + 48).storeVector(clamp(a03, low, high))
        }
        if let target = outputs[1] {
            target.storeVector(clamp(a10, low, high))
            (target + 16).storeVector(clamp(a11, low, high))
            (target + 32).storeVector(clamp(a12, low, high))
            (target + 48).storeVector(clamp(a13, low, high))
        }
        if let target = outputs[2] {
            target.storeVector(clamp(a20, low, high))
            (target + 16).storeVector(clamp(a21, low, high))
            (target + 32).storeVector(clamp(a22, low, high))
            (target + 48).storeVector(clamp(a23, low, high))
        }
        if let target = outputs[3] {
            target.storeVector(clamp(a30, low, high))
            (target + 16).storeVector(clamp(a31, low, high))
            (target + 32).storeVector(clamp(a32, low, high))
            (target + 48).storeVector(clamp(a33, low, high))
        }
        if let target = outputs[4] {
            target.storeVector(clamp(a40, low, high))
            (target + 16).storeVector(clamp(a41, low, high))
            (target + 32).storeVector(clamp(a42, low, high))
            (target + 48).storeVector(clamp(a43, low, high))
        }
        if let target = outputs[5] {
            target.storeVector(clamp(a50, low, high))
            (target + 16).storeVector(clamp(a51, low, high))
            (target + 32).storeVector(clamp(a52, low, high))
            (target + 48).storeVector(clamp(a53, low, high))
        }
    }
}
