import Foundation
import Synchronization

/// The `.kiln` checksum of a section (``XXH64/chunkedHash(_:)``), computed by a thread of its own
/// while the caller goes on with other work, then by both: ``wait()`` takes the chunks nobody has
/// started yet, and returns the checksum once every chunk is hashed. The caller must call
/// ``wait()`` once, and keep the bytes alive until it returns.
///
/// Why not `chunkedHash` on a background thread: that spreads the chunks over every core, so while
/// the caller worked three threads shared two cores, and the split was fixed in advance. Here one
/// helper and then the caller claim pairs of chunks from one counter, so the two cores stay busy
/// with exactly two threads and the chunks go to whoever is free.
final class BackgroundChecksum: @unchecked Sendable {
    // @unchecked: each slot of `hashes` is written by the thread that claimed its chunk, before that
    // thread counts it in `finished`; `wait()` reads the slots only after `finished` reached the
    // chunk count (acquire), and the buffer is freed only after that.
    private let base: UnsafeRawPointer?
    private let count: Int
    private let chunkCount: Int
    private let hashes: UnsafeMutablePointer<UInt64>
    /// Next chunk to claim (chunks go in pairs, through ``XXH64/hashChunks``).
    private let next = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let helperDone = DispatchSemaphore(value: 0)

    init(_ bytes: UnsafeRawBufferPointer) {
        base = bytes.baseAddress
        count = bytes.count
        chunkCount = (bytes.count + XXH64.chunkSize - 1) / XXH64.chunkSize
        hashes = .allocate(capacity: max(1, chunkCount))
        let thread = Thread { [self] in
            hashClaimedChunks()
            helperDone.signal()
        }
        thread.name = "kiln-checksum"
        thread.start()
    }

    deinit { hashes.deallocate() }

    /// Hashes chunks until none is left to claim.
    private func hashClaimedChunks() {
        guard let base else { return }
        while true {
            let first = next.add(2, ordering: .relaxed).oldValue
            guard first < chunkCount else { return }
            let chunks = first..<min(chunkCount, first + 2)
            XXH64.hashChunks(base, total: count, into: hashes, chunks: chunks)
            finished.add(chunks.count, ordering: .releasing)
        }
    }

    /// Helps hash what is left, then returns the checksum.
    func wait() -> UInt64 {
        hashClaimedChunks()
        helperDone.wait()
        let hashed = finished.load(ordering: .acquiring)
        assert(hashed == chunkCount)
        return XXH64.hash(UnsafeRawBufferPointer(start: hashes, count: chunkCount * 8))
    }
}
