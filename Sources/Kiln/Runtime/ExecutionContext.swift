import Foundation

/// What a kernel may use while it runs: the intra-op parallelism of the session.
///
/// One context is shared by all concurrent runs of a session; it holds no per-run state.
package final class ExecutionContext: Sendable {
    /// Number of threads a kernel may use for one operation.
    package let threads: Int

    package init(threads: Int) {
        self.threads = max(1, threads)
    }

    /// Splits `0..<count` into contiguous chunks of at least `minimumChunk` items and runs `body` on
    /// them, in parallel when the session has more than one thread and the work is large enough.
    package func parallelFor(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        parallelChunks(count, minimumChunk: minimumChunk) { _, range in body(range) }
    }

    /// Like ``parallelFor(_:minimumChunk:_:)``, also passing the index of the participant running
    /// each chunk. It is below ``threads``, and one participant's calls never overlap, so a kernel
    /// can give every participant its own slice of one scratch buffer allocated beforehand on the
    /// calling thread (where the run's memory plan serves it).
    ///
    /// The work is cut into up to ``piecesPerThread`` chunks per thread, which the threads claim as
    /// they become free: a thread that starts late or is slowed down by the host does less, instead
    /// of every other thread waiting for it.
    package func parallelChunks(_ count: Int, minimumChunk: Int = 1, _ body: (_ participant: Int, _ chunk: Range<Int>) -> Void) {
        guard count > 0 else { return }
        let pieces = min(threads * Self.piecesPerThread, IntraOpPool.maximumPieces, max(1, count / max(minimumChunk, 1)))
        if threads <= 1 || pieces <= 1 {
            body(0, 0..<count)
            return
        }
        func range(_ piece: Int) -> Range<Int> { (count * piece / pieces)..<(count * (piece + 1) / pieces) }
        if IntraOpPool.shared.run(pieces: pieces, participants: min(threads, pieces), { body($0, range($1)) }) { return }
        // The pool is busy (another run's region, or a region inside a region): do it here.
        body(0, 0..<count)
    }

    /// Chunks per thread a parallel region is cut into (`KILN_POOL_PIECES` overrides it, for
    /// measuring). Kernels whose pieces lose efficiency when cut smaller (matrix products, tiled
    /// convolutions) pass a count of whole blocks instead, which caps the pieces at that count.
    /// 12 against 4, per-node minimums at 2 threads, alternated both ways: MobileNetV2 6.05 → 5.61
    /// and 5.35 → 5.16 ms, all-MiniLM-L6-v2 20.9 → 20.1, ResNet-18 18.9 → 18.7, MLP b64 level
    /// (a late vCPU holds fewer outputs hostage); 8 and 16 were level with 12.
    package static let piecesPerThread: Int = {
        guard let text = getenv("KILN_POOL_PIECES"), let value = Int(String(cString: text)), value > 0 else { return 12 }
        return value
    }()
}

/// Carries a value across a concurrency boundary the compiler cannot prove safe; each use says why.
package struct UncheckedSendable<Value>: @unchecked Sendable {
    package let value: Value
    package init(_ value: Value) { self.value = value }
}
