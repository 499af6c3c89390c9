
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

    /// Like ``parallelFor(_:minimumChunk:_:)``, also passing each chunk's index, which is below
    /// ``threads``: a kernel can give every chunk its own slice of one scratch buffer allocated
    /// beforehand on the calling thread (where the run's memory plan serves it).
    package func parallelChunks(_ count: Int, minimumChunk: Int = 1, _ body: (Int, Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(threads, max(1, count / max(minimumChunk, 1)))
        if chunks <= 1 {
            body(0, 0..<count)
            return
        }
        func split(_ chunk: Int) { body(chunk, (count * chunk / chunks)..<(count * (chunk + 1) / chunks)) }
        if IntraOpPool.shared.run(chunks: chunks, { split($0) }) { return }
        // The pool is busy (another run's region, or a region inside a region): do it here.
        for chunk in 0..<chunks { split(chunk) }
    }
}

/// Carries a value across a concurrency boundary the compiler cannot prove safe; each use says why.
package struct UncheckedSendable<Value>: @unchecked Sendable {
    package let value: Value
    package init(_ value: Value) { self.value = value }
}
