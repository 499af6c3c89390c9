import Testing
@testable import Kiln

/// The pool-split product (column blocks of C, single-threaded sgemm each) against the scalar
/// reference, above the split threshold, with widths that do not divide into the blocks evenly.
@Suite struct ParallelMatrixMultiplicationTests {
    @Test(arguments: [(64, 512, 784), (33, 250, 129), (128, 97, 512), (1, 4_099, 300)], [false, true])
    func matchesReference(shape: (Int, Int, Int), transposeB: Bool) throws {
        let (m, n, k) = shape
        #expect(m * n * k >= MatrixMultiplication.parallelThreshold || n < 32)
        var state: UInt64 = 7
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 23) - 1
        }
        let a = (0..<(m * k)).map { _ in next() }
        let b = (0..<(k * n)).map { _ in next() }
        let start = (0..<(m * n)).map { _ in next() }
        var fast = start, slow = start
        let context = ExecutionContext(threads: 2)
        try a.withUnsafeBufferPointer { a in
            try b.withUnsafeBufferPointer { b in
                try fast.withUnsafeMutableBufferPointer { c in
                    try MatrixMultiplication.multiply(
                        transposeA: false, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5, a: a.baseAddress!,
                        lda: k, b: b.baseAddress!, ldb: transposeB ? k : n, beta: 1, c: c.baseAddress!, ldc: n,
                        context: context)
                }
                slow.withUnsafeMutableBufferPointer { c in
                    MatrixMultiplication.reference(
                        transposeA: false, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5, a: a.baseAddress!,
                        lda: k, b: b.baseAddress!, ldb: transposeB ? k : n, beta: 1, c: c.baseAddress!, ldc: n)
                }
            }
        }
        let worst = zip(fast, slow).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
        #expect(worst < 1e-4, "max relative error \(worst)")
    }
}
