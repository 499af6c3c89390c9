import Foundation
import Synchronization

/// The `.kiln` checksum of a section (``XXH64/chunkedHash(_:)``) on every core: helper threads,
/// one per core but the caller's, start hashing at once, pairs of 1 MiB chunks at a time from one
/// shared counter; ``wait()`` has the caller take the chunks left and returns the checksum once
/// every chunk is hashed. Between the two the caller may do other work: `Model(contentsOf:)`
/// decodes the graph and infers its types meanwhile. The caller must call ``wait()`` once, and
/// keep the bytes alive until it returns.
///
/// Chunks go to whoever is free rather than in fixed shares: when the caller is busy elsewhere, or
/// a core is slow (page faults of a fresh mapping, a vCPU descheduled by the host), the others take
/// its share. `concurrentPerform` over fixed halves, run from a background thread while the caller
/// decoded, took all-MiniLM-L6-v2's load from 8.6 to only 7.4 ms on 2 cores, where this took it
/// to 5.9.
final class ParallelChecksum: @unchecked Sendable {
    // @unchecked: each slot of `hashes` is written by the thread that claimed its chunk; `wait()`
    // reads the slots only after every helper has left `helpers` and the caller's own claims are
    // done, and the buffer is freed only after that.
    private let base: UnsafeRawPointer?
    private let count: Int
    private let chunkCount: Int
    private let hashes: UnsafeMutablePointer<UInt64>
    /// Next chunk to claim (chunks go in pairs, through ``XXH64/hashChunks(_:total:into:chunks:)``).
    private let next = Atomic<Int>(0)
    private let helpers = DispatchGroup()

    init(_ bytes: UnsafeRawBufferPointer) {
        base = bytes.baseAddress
        count = bytes.count
        chunkCount = (bytes.count + XXH64.chunkSize - 1) / XXH64.chunkSize
        hashes = .allocate(capacity: max(1, chunkCount))
        let pairs = (chunkCount + 1) / 2
        let helperCount = max(1, min(pairs, ProcessInfo.processInfo.activeProcessorCount - 1))
        for index in 0..<helperCount {
            helpers.enter()
            let thread = Thread { [self] in
                hashClaimedChunks()
                helpers.leave()
            }
            thread.name = "kiln-checksum-\(index + 1)"
            thread.start()
        }
    }

    deinit { hashes.deallocate() }

    /// Hashes chunks until none is left to claim.
    private func hashClaimedChunks() {
        guard let base else { return }
        while true {
            let first = next.add(2, ordering: .relaxed).oldValue
            guard first < chunkCount else { return }
            XXH64.hashChunks(base, total: count, into: hashes, chunks: first..<min(chunkCount, first + 2))
        }
    }

    /// Helps hash what is left, then returns the checksum.
    func wait() -> UInt64 {
        hashClaimedChunks()
        helpers.wait()
        return XXH64.hash(UnsafeRawBufferPointer(start: hashes, count: chunkCount * 8))
    }
}
