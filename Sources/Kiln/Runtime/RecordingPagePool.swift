#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Pages of their own for the large tensors of a memory plan's recording run (``RunAllocator``).
///
/// The recording run allocates every intermediate separately, as the plan does not exist yet. From
/// the heap, glibc served the large ones from a heap that small allocations made between them
/// kept from shrinking or coalescing: all-MiniLM-L6-v2 at batch 8 peaked at 207 MB in that run,
/// against 127 MB with a mapping per block, and 135 MB for the planned runs after it. A block
/// that dies goes back to this pool for the next request of its size, so the run does not fault
/// in fresh pages for every tensor (unmapping each one made ResNet-50's first run 26 -> 47 ms);
/// the pool unmaps what it holds when the run's allocator and its last tensor are gone.
package final class RecordingPagePool: @unchecked Sendable {
    /// Allocations from this size up get pages from the pool.
    package static let minimumByteCount = 256 * 1_024

    private let free = Mutex<[Int: [Pages]]>([:])

    package init() {}

    /// One mapping, unmapped when the pool (or a lease outliving it) lets go of it.
    package final class Pages: @unchecked Sendable {
        package let bytes: UnsafeMutableRawPointer
        package let length: Int

        init?(length: Int) {
            guard length > 0,
                  let pointer = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                  pointer != MAP_FAILED else { return nil }
            bytes = pointer
            self.length = length
        }

        deinit { munmap(bytes, length) }
    }

    /// A tensor's hold on pages of the pool: gives them back when the tensor's storage dies.
    package final class Lease: @unchecked Sendable {
        package let pages: Pages
        private let pool: RecordingPagePool

        fileprivate init(pages: Pages, pool: RecordingPagePool) {
            self.pages = pages
            self.pool = pool
        }

        deinit { pool.giveBack(pages) }
    }

    /// Pages for `byteCount` bytes: a block of the same size given back earlier, or a new mapping;
    /// nil when the system refuses one (the caller then uses the heap).
    package func lease(byteCount: Int) -> Lease? {
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard pageSize > 0, byteCount > 0 else { return nil }
        let length = (byteCount + pageSize - 1) / pageSize * pageSize
        let reused = free.withLock { free in free[length]?.popLast() }
        guard let pages = reused ?? Pages(length: length) else { return nil }
        return Lease(pages: pages, pool: self)
    }

    fileprivate func giveBack(_ pages: Pages) {
        free.withLock { free in free[pages.length, default: []].append(pages) }
    }
}
