import Foundation
import Synchronization

/// Matrix products split across Kiln's intra-op pool.
///
/// OpenBLAS's own threads sleep between calls, and waking them costs more than a mid-sized product
/// gains from them (the MLP at batch 64 ran no faster on 2 threads than on 1). Large enough products
/// are instead cut into column blocks of `C`, one per pool thread, each an independent single-threaded
/// `cblas_sgemm` over the matching columns of `B`.
extension MatrixMultiplication {
    /// Products below this many multiply-adds stay one call (the split's own cost would dominate).
    package static let parallelThreshold = 1 << 18

    /// Same contract as ``multiply(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``, with
    /// the work spread over `context`'s threads.
    package static func multiply(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, context: ExecutionContext
    ) throws {
        let (work, overflow) = m.multipliedReportingOverflow(by: n)
        let blocks = min(context.threads, n / 16)
        guard context.threads > 1, blocks > 1, !overflow, work.multipliedReportingOverflow(by: k).partialValue >= parallelThreshold,
              !work.multipliedReportingOverflow(by: k).overflow
        else {
            try multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                         a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        // Column blocks in multiples of 16 (the kernels' register blocking); the last takes the rest.
        let blockWidth = (n / blocks) / 16 * 16
        let failure = Mutex<(any Error)?>(nil)
        context.parallelChunks(blocks) { _, range in
            for block in range {
                let start = block * blockWidth
                let width = block == blocks - 1 ? n - start : blockWidth
                do {
                    try multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: width, k: k, alpha: alpha,
                                 a: a, lda: lda, b: transposeB ? b + start * ldb : b + start, ldb: ldb,
                                 beta: beta, c: c + start, ldc: ldc)
                } catch {
                    failure.withLock { $0 = error }
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }
}

extension MatrixMultiplication {
    /// `c[m, n] = activation(a[m, k] * b'[k, n] + bias[n] + residual[m, n])` with
    /// `b' = transposeB ? b^T : b`, all row-major and contiguous: a linear layer with its bias,
    /// residual and activation fused (bias and residual may be nil). Each pool thread takes a block
    /// of rows (or, with too few rows to share, of columns), writes the bias and residual into it,
    /// lets `sgemm` accumulate onto it (`beta = 1`) and applies the activation while the block is
    /// still in cache, so none of them needs a pass of its own over the output.
    package static func multiplyAddingBias(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, transposeB: Bool = false,
        bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>? = nil, activation: FusedActivation?,
        c: UnsafeMutablePointer<Float>, context: ExecutionContext
    ) throws {
        guard m > 0, n > 0 else { return }
        let (work, overflow) = m.multipliedReportingOverflow(by: n)
        let (macs, macsOverflow) = work.multipliedReportingOverflow(by: k)
        let parallel = context.threads > 1 && !overflow && !macsOverflow && macs >= parallelThreshold
        // Rows when each thread gets a sizeable panel; otherwise columns in multiples of 16.
        let splitRows = m >= context.threads * minimumRowsPerBlock
        let blocks = parallel ? max(1, min(context.threads, splitRows ? m / minimumRowsPerBlock : n / 16)) : 1
        let failure = Mutex<(any Error)?>(nil)
        func run(_ block: Int) {
            let rows: Range<Int>, columns: Range<Int>
            if splitRows || blocks == 1 {
                let size = (m + blocks - 1) / blocks
                rows = min(m, block * size)..<min(m, (block + 1) * size)
                columns = 0..<n
            } else {
                let width = (n / blocks) / 16 * 16
                rows = 0..<m
                columns = (block * width)..<(block == blocks - 1 ? n : (block + 1) * width)
            }
            guard !rows.isEmpty, !columns.isEmpty else { return }
            let corner = c + rows.lowerBound * n + columns.lowerBound
            if let residual {
                let residualCorner = residual + rows.lowerBound * n + columns.lowerBound
                for row in 0..<rows.count {
                    let destination = corner + row * n, source = residualCorner + row * n
                    if let bias {
                        let offsets = bias + columns.lowerBound
                        for column in 0..<columns.count { destination[column] = source[column] + offsets[column] }
                    } else {
                        destination.update(from: source, count: columns.count)
                    }
                }
            } else if let bias {
                for row in 0..<rows.count {
                    (corner + row * n).update(from: bias + columns.lowerBound, count: columns.count)
                }
            }
            do {
                try multiply(transposeA: false, transposeB: transposeB, m: rows.count, n: columns.count, k: k, alpha: 1,
                             a: a + rows.lowerBound * k, lda: k,
                             b: transposeB ? b + columns.lowerBound * k : b + columns.lowerBound, ldb: transposeB ? k : n,
                             beta: bias == nil && residual == nil ? 0 : 1, c: corner, ldc: n)
            } catch {
                failure.withLock { $0 = error }
                return
            }
            if let activation {
                for row in 0..<rows.count { activation.apply(corner + row * n, count: columns.count) }
            }
        }
        if blocks > 1 {
            context.parallelChunks(blocks) { _, range in
                for block in range { run(block) }
            }
        } else {
            run(0)
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// Splitting rows needs this many per thread to beat splitting columns: measured on this
    /// machine's 2 cores with OpenBLAS 0.3.21, columns won at 64 and 128 rows (MLP batch 64 by 8%,
    /// MiniLM at 128 tokens by 5%) and rows at 1,024 (MiniLM batch 8, by 1%).
    /// `KILN_MATMUL_MIN_ROWS` overrides it (for measuring).
    package static let minimumRowsPerBlock: Int = {
        guard let text = getenv("KILN_MATMUL_MIN_ROWS"), let value = Int(String(cString: text)), value > 0 else { return 256 }
        return value
    }()
}
