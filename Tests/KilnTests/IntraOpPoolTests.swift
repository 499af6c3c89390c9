import Kiln
import Synchronization
import Testing

/// Parallel regions hand out every item exactly once, give each participant an index below the
/// thread count that no two simultaneous calls share, and survive many regions back to back and
/// regions started from inside a region.
@Suite struct IntraOpPoolTests {
    /// Runs one region and checks its bookkeeping; returns how many distinct participants ran.
    static func checkRegion(count: Int, minimumChunk: Int, threads: Int) -> Int {
        let context = ExecutionContext(threads: threads)
        let hits = Mutex<[Int]>(Array(repeating: 0, count: count))
        let busy = Mutex<[Bool]>(Array(repeating: false, count: threads))
        let seen = Mutex<Set<Int>>([])
        let overlaps = Atomic<Int>(0), outOfRange = Atomic<Int>(0)
        context.parallelChunks(count, minimumChunk: minimumChunk) { participant, range in
            guard participant >= 0, participant < threads else {
                outOfRange.add(1, ordering: .relaxed)
                return
            }
            busy.withLock { flags in
                if flags[participant] { overlaps.add(1, ordering: .relaxed) }
                flags[participant] = true
            }
            seen.withLock { _ = $0.insert(participant) }
            hits.withLock { counts in for item in range { counts[item] += 1 } }
            busy.withLock { $0[participant] = false }
        }
        #expect(outOfRange.load(ordering: .relaxed) == 0)
        #expect(overlaps.load(ordering: .relaxed) == 0, "a participant index ran two chunks at once")
        let wrong = hits.withLock { counts in (0..<count).filter { counts[$0] != 1 } }
        #expect(wrong.isEmpty, "items not run exactly once: \(wrong.prefix(10))")
        return seen.withLock { $0.count }
    }

    @Test(arguments: [1, 2, 3, 7, 8, 9, 100, 1_000, 100_000])
    func everyItemRunsOnceWithParticipantIndicesInRange(count: Int) {
        for threads in [1, 2, 3, 8] {
            for minimumChunk in [1, 7, 1_000] {
                _ = Self.checkRegion(count: count, minimumChunk: minimumChunk, threads: threads)
            }
        }
    }

    @Test func manyRegionsBackToBack() {
        // Thousands of short regions: a worker that misses one, or arrives after its last piece
        // is taken, must neither run a stale region nor hold up the next.
        for index in 0..<5_000 {
            _ = Self.checkRegion(count: 1 + index % 37, minimumChunk: 1, threads: 2)
        }
    }

    @Test func regionsInsideRegionsRunInline() {
        let context = ExecutionContext(threads: 4)
        let total = Atomic<Int>(0)
        context.parallelFor(16) { outer in
            for _ in outer {
                context.parallelFor(100) { inner in total.add(inner.count, ordering: .relaxed) }
            }
        }
        #expect(total.load(ordering: .relaxed) == 1_600)
    }

    @Test func concurrentCallersShareThePool() async {
        // Regions from several tasks at once: whichever finds the pool taken runs inline.
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for index in 0..<500 { _ = Self.checkRegion(count: 64 + index % 5, minimumChunk: 1, threads: 2) }
                }
            }
        }
    }
}
