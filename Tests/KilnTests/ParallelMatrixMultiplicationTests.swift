import CBLAS
import Foundation
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

/// Products cut into column blocks for OpenBLAS's unpacked kernel (`A · Bᵀ` with few rows, `A · B`
/// with a short inner dimension), against the scalar reference: widths that leave a partial last
/// block, with alpha and beta in play, and with leading dimensions wider than the matrices.
@Suite struct SmallKernelBlockTests {
    @Test(arguments: [(4, 500, 784, true), (17, 100, 900, true), (64, 250, 512, true), (64, 513, 784, true),
                      (16, 3025, 128, false), (32, 1000, 32, false), (384, 196, 64, false)])
    func matchesReference(shape: (Int, Int, Int, Bool)) throws {
        let (m, n, k, transposeB) = shape
        if MatrixMultiplication.hasUnpackedSmallKernels {
            let path = MatrixMultiplication.unpackedPath(transposeB: transposeB, m: m, n: n, k: k)
            guard case .columnBlocks(let width) = path else {
                Issue.record("the shape should be cut into blocks, got \(String(describing: path))")
                return
            }
            #expect(width < n, "the shape should be cut into blocks")
        }
        let lda = k + 3, ldb = (transposeB ? k : n) + 5, ldc = n + 7
        var state: UInt64 = 11
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 23) - 1
        }
        let a = (0..<(m * lda)).map { _ in next() }
        let b = (0..<((transposeB ? n : k) * ldb)).map { _ in next() }
        let start = (0..<(m * ldc)).map { _ in next() }
        var fast = start, slow = start
        try a.withUnsafeBufferPointer { a in
            try b.withUnsafeBufferPointer { b in
                try fast.withUnsafeMutableBufferPointer { c in
                    try MatrixMultiplication.multiply(
                        transposeA: false, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5, a: a.baseAddress!, lda: lda,
                        b: b.baseAddress!, ldb: ldb, beta: 1, c: c.baseAddress!, ldc: ldc)
                }
                slow.withUnsafeMutableBufferPointer { c in
                    MatrixMultiplication.reference(
                        transposeA: false, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5, a: a.baseAddress!, lda: lda,
                        b: b.baseAddress!, ldb: ldb, beta: 1, c: c.baseAddress!, ldc: ldc)
                }
            }
        }
        // The whole buffer is compared, so a write into the padding columns (beyond n) would show.
        let worst = zip(fast, slow).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
        #expect(worst < 1e-4, "max relative error \(worst)")
    }

    @Test func leavesOtherShapesToOneCall() {
        // A · B whose blocks would be narrower than 32 columns, or A · Bᵀ with more than 64 rows:
        // the packed path in one call. A product already within the unpacked limit: one call too.
        // (A transposed A never reaches the helper: `multiply` sends it to `cblas_sgemm` directly.)
        #expect(MatrixMultiplication.unpackedPath(transposeB: false, m: 64, n: 512, k: 784) == nil)
        #expect(MatrixMultiplication.unpackedPath(transposeB: true, m: 65, n: 512, k: 784) == nil)
        let withinLimit = MatrixMultiplication.unpackedPath(transposeB: true, m: 2, n: 512, k: 784)
        #expect(withinLimit == (MatrixMultiplication.hasUnpackedSmallKernels ? .whole : nil))
    }

    @Test func rowBlocksStayUnderTheUnpackedLimit() throws {
        guard MatrixMultiplication.hasUnpackedSmallKernels else {
            #expect(MatrixMultiplication.unpackedRowBlock(m: 2048, n: 49, k: 512) == nil)
            return
        }
        // ResNet-50's 512 -> 2048 layer at 7x7: 1e6 / (49 * 512) = 39.9, so 32 rows per block.
        #expect(MatrixMultiplication.unpackedRowBlock(m: 2048, n: 49, k: 512) == 32)
        for (m, n, k) in [(100, 49, 700), (1280, 49, 320), (160, 36, 216)] {
            let rows = try #require(MatrixMultiplication.unpackedRowBlock(m: m, n: n, k: k))
            #expect(rows % 16 == 0 && rows >= 16 && rows < m && rows * n * k <= 1_000_000, "\(m) x \(n) x \(k): \(rows)")
        }
        // Not even 16 rows fit (ResNet-50's 3x3 at 7x7: k = 4608), or the whole product already does.
        #expect(MatrixMultiplication.unpackedRowBlock(m: 512, n: 49, k: 4608) == nil)
        #expect(MatrixMultiplication.unpackedRowBlock(m: 64, n: 49, k: 100) == nil)
    }
}

/// OpenBLAS's thread count is process-wide: sessions keep it at 1, whatever their own count, so a
/// 1-thread session never runs its products on OpenBLAS's extra threads because a 2-thread session
/// was created after it.
@Suite(.serialized) struct BLASThreadCountTests {
    @Test func sessionsKeepOpenBLASSingleThreaded() throws {
        var builder = GraphBuilder(name: "product")
        let x = builder.input("x", .float32, [64, 256])
        builder.output(builder.node("MatMul", [x, builder.constant(try Tensor(shape: [256, 512], scalars: [Float](repeating: 0.5, count: 256 * 512)))]), as: "y")
        let model = try Model(graph: try builder.build())
        let input = try Tensor(shape: [64, 256], scalars: [Float](repeating: 1, count: 64 * 256))
        for threads in [1, 2, 1] {
            let session = try InferenceSession(model: model, options: .init(threads: threads))
            #expect(BLASLibrary.threads == 1, "after creating a \(threads)-thread session")
            let output = try session.run(["x": input])["y"]
            #expect(output?.shape == [64, 512])
            #expect(try output?.scalars(as: Float.self).allSatisfy { $0 == 128 } == true)
            #expect(BLASLibrary.threads == 1, "after a run at \(threads) threads")
        }
    }

    /// OpenBLAS's worker threads, which poll with `sched_yield` for a while after they start, are
    /// stopped by model loading and session creation (`BLASLibrary.keepSingleThreaded`), also after
    /// the host program raised the thread count (`openblas_set_num_threads` starts them again).
    /// OpenBLAS's `blas_server_avail` flag says whether they run; builds without it (single-threaded
    /// OpenBLAS) have no workers to stop.
    @Test func modelsAndSessionsStopOpenBLASWorkers() throws {
        guard let handle = dlopen(nil, RTLD_NOW), let flag = dlsym(handle, "blas_server_avail") else { return }
        var builder = GraphBuilder(name: "relu")
        builder.output(builder.node("Relu", [builder.input("x", .float32, [4])]), as: "y")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-blas-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("relu.kiln")
        try Model(graph: try builder.build()).write(to: url)
        defer { BLASLibrary.keepSingleThreaded() }

        openblas_set_num_threads(2)
        #expect(flag.load(as: Int32.self) == 1, "the raised count starts OpenBLAS's workers")
        let model = try Model(contentsOf: url)
        #expect(flag.load(as: Int32.self) == 0, "after loading a model")
        _ = try InferenceSession(model: model, options: .init(threads: 2))
        #expect(flag.load(as: Int32.self) == 0, "after creating a session")
        #expect(BLASLibrary.threads == 1)

        openblas_set_num_threads(2)
        _ = try InferenceSession(model: model, options: .init(threads: 1))
        #expect(flag.load(as: Int32.self) == 0, "after a session lowered the raised count")
        #expect(BLASLibrary.threads == 1)
    }
}
