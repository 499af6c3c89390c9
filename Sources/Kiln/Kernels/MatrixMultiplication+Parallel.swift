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
        BLASThreads.singleThreaded(restoring: context.threads) {
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
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }
}
