#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// The process's intra-op worker threads: one per core but the caller's, shared by every session.
///
/// A run issues many short parallel regions back to back (one or more per node). Waking a sleeping
/// thread for each costs tens of microseconds on a virtual machine with idle cores, more than many
/// regions take, so after finishing its part a worker spins for a short while (``spinLimit``) waiting
/// for the next region before it sleeps. The spin is bounded: after a run returns, workers are idle
/// within that time. A region that finds the pool busy (another run's region, or a region started
/// from inside a region) runs on the calling thread alone rather than waiting.
package final class IntraOpPool: @unchecked Sendable {
    // @unchecked: `job` and `chunkCount` are written only by the dispatching thread while it holds
    // `dispatching`, before `generation` is bumped (release), and read by workers after they observe
    // the new generation (acquire); the condition variable guards sleeping.

    package static let shared = IntraOpPool(workers: max(0, ProcessInfo.processInfo.activeProcessorCount - 1))

    /// How long a worker keeps polling for a new region after its last one before it sleeps.
    package static let spinLimit: Duration = .microseconds(
        Int64(ProcessInfo.processInfo.environment["KILN_POOL_SPIN_US"].flatMap(Int.init) ?? 200))

    /// Worker threads (the dispatching thread is the extra participant).
    package let workers: Int
    private let dispatching = Mutex<Bool>(false)
    private let generation = Atomic<Int>(0)
    private let remaining = Atomic<Int>(0)
    private let sleepers = NSCondition()
    private var job: ((Int) -> Void)?
    private var chunkCount = 0

    private init(workers: Int) {
        self.workers = workers
        for index in 0..<workers {
            let thread = Thread { self.workerLoop(index: index + 1) }
            thread.name = "kiln-intra-op-\(index + 1)"
            thread.start()
        }
    }

    /// Runs `body(chunk)` for every chunk in `0..<chunks` (chunk 0 on the calling thread) and returns
    /// when all are done. Returns false, having run nothing, when the pool is taken; the caller then
    /// runs the chunks itself.
    package func run(chunks: Int, _ body: (Int) -> Void) -> Bool {
        guard chunks > 1, workers > 0 else { return false }
        let acquired = dispatching.withLock { busy -> Bool in
            if busy { return false }
            busy = true
            return true
        }
        guard acquired else { return false }
        defer { dispatching.withLock { $0 = false } }
        let participants = min(chunks, workers + 1)
        withoutActuallyEscaping(body) { body in
            // Every worker acknowledges every region (even with no chunk of its own) before this
            // returns, so no worker can act on a stale `job` or count, and none holds `job` after.
            let work: (Int) -> Void = { participant in
                var chunk = participant
                while chunk < chunks {
                    body(chunk)
                    chunk += participants
                }
            }
            job = work
            chunkCount = participants
            remaining.store(workers, ordering: .relaxed)
            sleepers.lock()
            generation.add(1, ordering: .releasing)
            sleepers.broadcast()
            sleepers.unlock()
            work(0)
            while remaining.load(ordering: .acquiring) > 0 {}
            job = nil
        }
        return true
    }

    private func workerLoop(index: Int) {
        var seen = 0
        while true {
            // Poll for the next region for a while, then sleep until one arrives.
            let spinUntil = ContinuousClock.now + IntraOpPool.spinLimit
            var current = generation.load(ordering: .acquiring)
            var polls = 0
            while current == seen {
                polls += 1
                if polls & 255 == 0 && ContinuousClock.now >= spinUntil { break }
                current = generation.load(ordering: .acquiring)
            }
            if current == seen {
                sleepers.lock()
                while generation.load(ordering: .acquiring) == seen { sleepers.wait() }
                sleepers.unlock()
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if index < chunkCount { runChunk(index) }
            remaining.subtract(1, ordering: .releasing)
        }
    }

    /// Calls the current job; its reference ends with this call, before the worker acknowledges.
    @inline(never)
    private func runChunk(_ index: Int) {
        job?(index)
    }
}
