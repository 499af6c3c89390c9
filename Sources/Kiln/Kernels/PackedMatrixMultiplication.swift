import Foundation

/// `c[m, n] = activation(a[m, k] * b'[k, n] + bias[n] + residual[m, n])` for a constant `b'`
/// packed once into 64-column panels, `[n / 64, k, 64]`, computed by ``BroadcastBlockKernel`` in
/// AVX-512 builds: no packing of either operand per call (OpenBLAS packs both on every call) and
/// the bias, residual and activation applied to each 6 x 64 block while it is in registers or L1.
///
/// Measured on this project's Zen 5 machine, one thread, standalone: 64 x 784 x 512 (the MLP at
/// batch 64) 198 µs against 260 for OpenBLAS's `sgemm`; all-MiniLM-L6-v2's 128 x 384 x 384 145
/// against 169, 128 x 384 x 1536 582 against 677, 128 x 1536 x 384 591 against 707.
///
/// Work is cut into (64-column panel, 6-row block) items, panel by panel within chunks of rows, so
/// each thread takes whole panels where it can and reads a panel's weights from its own L2 for
/// every row block of the chunk. Chunks (at least 128 rows, at most ~512 KiB of A) keep the rows
/// one panel pass streams in L2 when there are many: all-MiniLM-L6-v2 at batch 8 (1,024 rows)
/// ran 3% slower than OpenBLAS when every panel streamed all of A.
package enum PackedMatrixMultiplication {
    /// Columns per panel.
    package static let panelWidth = BroadcastBlockKernel.columns

    /// Whether products with a constant right operand of `columns` columns run here: an AVX-512
    /// build and a whole number of panels. Depends only on the constant, so an operator can decide
    /// once whether to pack it. `KILN_PACKED_MATMUL=0` turns it off (for comparing with OpenBLAS).
    package static func applies(columns: Int) -> Bool {
        isAvailable && supports(columns: columns)
    }

    /// Whether this build runs the kernel at all.
    package static var isAvailable: Bool { BuildTarget.hasAVX512 && enabled }

    /// Whether the kernel can compute products with `columns` columns at all (in any build).
    package static func supports(columns: Int) -> Bool { columns > 0 && columns % panelWidth == 0 }

    /// Whether a product of `rows` rows runs here: at least one whole block. With fewer (a batch-1
    /// linear layer) most of a block would repeat rows; OpenBLAS's `sgemv` path takes those.
    package static func supports(rows: Int) -> Bool { rows >= BroadcastBlockKernel.rows }

    private static let enabled = ProcessInfo.processInfo.environment["KILN_PACKED_MATMUL"] != "0"

    /// Packs `b'` (`b` `[k, n]`, or `[n, k]` when `transposeB`) into `[n / 64, k, 64]`, the panels
    /// spread over `context`'s threads.
    package static func pack(_ b: UnsafePointer<Float>, transposeB: Bool, k: Int, n: Int,
                             into packed: UnsafeMutablePointer<Float>, context: ExecutionContext) {
        context.parallelFor(n / panelWidth) { panels in
            pack(b, transposeB: transposeB, k: k, n: n, panels: panels, into: packed)
        }
    }

    /// Packs the panels `panels` (all by default) of `b'` into `packed`.
    package static func pack(_ b: UnsafePointer<Float>, transposeB: Bool, k: Int, n: Int, panels: Range<Int>? = nil,
                             into packed: UnsafeMutablePointer<Float>) {
        for panel in panels ?? 0..<n / panelWidth {
            let destination = packed + panel * k * panelWidth
            for row in 0..<k {
                let target = destination + row * panelWidth
                if transposeB {
                    let column = b + panel * panelWidth * k + row
                    for lane in 0..<panelWidth { target[lane] = column[lane * k] }
                } else {
                    target.update(from: b + row * n + panel * panelWidth, count: panelWidth)
                }
            }
        }
    }

    /// The inverse of ``pack(_:transposeB:k:n:into:context:)`` with `transposeB` false: panels back
    /// to `b` `[k, n]`, for a build that does not run this kernel and reads a file whose weights
    /// were packed when it was converted (``PackWeightsPass``).
    package static func unpack(_ packed: UnsafePointer<Float>, k: Int, n: Int, into b: UnsafeMutablePointer<Float>) {
        for panel in 0..<n / panelWidth {
            let source = packed + panel * k * panelWidth
            for row in 0..<k {
                (b + row * n + panel * panelWidth).update(from: source + row * panelWidth, count: panelWidth)
            }
        }
    }

    /// `b` `[k, n]` from its panels, unpacked into `cache` by the first call.
    package static func unpacked(_ packed: UnsafePointer<Float>, k: Int, n: Int,
                                 cache: TransformedWeightsCache) throws -> [Float] {
        try cache.values(count: k * n) { unpack(packed, k: k, n: n, into: $0) }
    }

    /// The product with a `b` that the file stores packed (``PackWeightsPass``): read in place by
    /// the kernel, or, in a build without it, unpacked into `unpackedCache` once and multiplied by
    /// OpenBLAS.
    package static func multiply(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, storedPacked packed: UnsafePointer<Float>,
                                 unpackedCache: TransformedWeightsCache, bias: UnsafePointer<Float>?,
                                 residual: UnsafePointer<Float>?, activation: FusedActivation?,
                                 c: UnsafeMutablePointer<Float>, context: ExecutionContext) throws {
        if isAvailable {
            try multiply(m: m, n: n, k: k, a: a, packed: packed, bias: bias, residual: residual, activation: activation,
                         c: c, context: context)
            return
        }
        let plain = try unpacked(packed, k: k, n: n, cache: unpackedCache)
        try plain.withUnsafeBufferPointer { plain in
            try MatrixMultiplication.multiplyAddingBias(m: m, n: n, k: k, a: a, b: plain.baseAddress!, bias: bias,
                                                        residual: residual, activation: activation, c: c,
                                                        context: context)
        }
    }

    /// The product with the constant `b` (`[k, n]`, or `[n, k]` when `transposeB`), packed into
    /// `cache` by the first call, which also gives back `b`'s mapped pages (Gemm and MatMul).
    package static func multiply(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, constant b: Tensor, transposeB: Bool,
                                 cache: TransformedWeightsCache, bias: UnsafePointer<Float>?,
                                 residual: UnsafePointer<Float>?, activation: FusedActivation?,
                                 c: UnsafeMutablePointer<Float>, context: ExecutionContext) throws {
        let packed = try cache.values(count: k * n) { packed in
            b.withUnsafePointer(as: Float.self) { b in
                pack(b, transposeB: transposeB, k: k, n: n, into: packed, context: context)
            }
            b.storage.releaseMappedPages()
        }
        try packed.withUnsafeBufferPointer { packed in
            try multiply(m: m, n: n, k: k, a: a, packed: packed.baseAddress!, bias: bias, residual: residual,
                         activation: activation, c: c, context: context)
        }
    }

    /// The product (see the type's notes). Needs ``supports(columns:)``; `bias` has `n` values,
    /// `residual` and `c` are `[m, n]`. Fewer rows than a block run ``multiplyFewRows``.
    package static func multiply(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, packed: UnsafePointer<Float>,
                                 bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?,
                                 activation: FusedActivation?, c: UnsafeMutablePointer<Float>,
                                 context: ExecutionContext) throws {
        guard m > 0, supports(columns: n), k > 0 else {
            throw OperatorError("the packed product needs rows, inner size and a multiple of \(panelWidth) columns, not \(m) x \(k) x \(n)")
        }
        guard supports(rows: m) else {
            multiplyFewRows(m: m, n: n, k: k, a: a, packed: packed, bias: bias, residual: residual,
                            activation: activation, c: c, context: context)
            return
        }
        let blockRows = BroadcastBlockKernel.rows
        let rowBlocks = (m + blockRows - 1) / blockRows
        let panels = n / panelWidth
        let (chunks, blocksPerChunk) = BroadcastBlockKernel.rowChunks(blocks: rowBlocks, rowFloats: k)
        let (bounds, remaining) = BroadcastBlockKernel.epilogue(activation: activation)
        let tapOffset = [0]
        let flopsPerItem = blockRows * panelWidth * k
        tapOffset.withUnsafeBufferPointer { tapOffset in bounds.withUnsafeBufferPointer { bounds in
            let tapOffset = tapOffset.baseAddress!, bounds = bounds.baseAddress!
            context.parallelFor(chunks * panels * blocksPerChunk, minimumChunk: max(1, 1 << 20 / flopsPerItem)) { range in
                BroadcastBlockKernel.withRowSlots { inputs, outputs, residuals in
                    for item in range {
                        let chunk = item / (panels * blocksPerChunk), panel = item / blocksPerChunk % panels
                        let rowBlock = chunk * blocksPerChunk + item % blocksPerChunk
                        guard rowBlock < rowBlocks else { continue }
                        let column = panel * panelWidth
                        // Rows past m read row m - 1 again and are not stored.
                        let first = rowBlock * blockRows
                        for slot in 0..<blockRows {
                            let row = first + slot
                            inputs[slot] = a + min(row, m - 1) * k
                            outputs[slot] = row < m ? c + row * n + column : nil
                            residuals[slot] = row < m ? residual.map { $0 + row * n + column } : nil
                        }
                        BroadcastBlockKernel.block6(inputs, channels: k, tapOffsets: tapOffset, taps: 1,
                                                    weights: packed + panel * k * panelWidth,
                                                    bias: bias.map { $0 + column }, bounds: bounds,
                                                    residuals: residual == nil ? nil : UnsafePointer(residuals),
                                                    outputs: outputs)
                        guard let remaining else { continue }
                        for slot in 0..<min(blockRows, m - first) {
                            remaining.apply(c + (first + slot) * n + column, count: panelWidth)
                        }
                    }
                }
            }
        }}
    }

    /// Products of fewer rows than a block (a linear layer at batch 1): each row against each
    /// panel in eight accumulators, two interleaved halves of `k` so that the FMA latency is
    /// covered, reading the weights once per row as `sgemv` does; panels spread over the threads.
    package static func multiplyFewRows(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, packed: UnsafePointer<Float>,
                                        bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?,
                                        activation: FusedActivation?, c: UnsafeMutablePointer<Float>,
                                        context: ExecutionContext) {
        typealias Vector = BroadcastBlockKernel.Vector
        let lanes = Vector.scalarCount
        let panels = n / panelWidth
        context.parallelFor(panels, minimumChunk: max(1, 65_536 / max(1, m * k * panelWidth))) { range in
            for panel in range {
                let weights = packed + panel * k * panelWidth
                let column = panel * panelWidth
                for row in 0..<m {
                    let x = a + row * k
                    var s0 = Vector(), s1 = Vector(), s2 = Vector(), s3 = Vector()
                    var t0 = Vector(), t1 = Vector(), t2 = Vector(), t3 = Vector()
                    var index = 0
                    while index + 1 < k {
                        let w = weights + index * panelWidth
                        let v = Vector(repeating: x[index]), u = Vector(repeating: x[index + 1])
                        s0.addProduct(v, w.loadVector())
                        s1.addProduct(v, (w + lanes).loadVector())
                        s2.addProduct(v, (w + 2 * lanes).loadVector())
                        s3.addProduct(v, (w + 3 * lanes).loadVector())
                        let w2 = w + panelWidth
                        t0.addProduct(u, w2.loadVector())
                        t1.addProduct(u, (w2 + lanes).loadVector())
                        t2.addProduct(u, (w2 + 2 * lanes).loadVector())
                        t3.addProduct(u, (w2 + 3 * lanes).loadVector())
                        index += 2
                    }
                    if index < k {
                        let w = weights + index * panelWidth
                        let v = Vector(repeating: x[index])
                        s0.addProduct(v, w.loadVector())
                        s1.addProduct(v, (w + lanes).loadVector())
                        s2.addProduct(v, (w + 2 * lanes).loadVector())
                        s3.addProduct(v, (w + 3 * lanes).loadVector())
                    }
                    s0 += t0
                    s1 += t1
                    s2 += t2
                    s3 += t3
                    if let bias {
                        let b = bias + column
                        s0 += b.loadVector()
                        s1 += (b + lanes).loadVector()
                        s2 += (b + 2 * lanes).loadVector()
                        s3 += (b + 3 * lanes).loadVector()
                    }
                    if let residual {
                        let z = residual + row * n + column
                        s0 += z.loadVector()
                        s1 += (z + lanes).loadVector()
                        s2 += (z + 2 * lanes).loadVector()
                        s3 += (z + 3 * lanes).loadVector()
                    }
                    let target = c + row * n + column
                    target.storeVector(s0)
                    (target + lanes).storeVector(s1)
                    (target + 2 * lanes).storeVector(s2)
                    (target + 3 * lanes).storeVector(s3)
                    activation?.apply(target, count: panelWidth)
                }
            }
        }
    }
}
