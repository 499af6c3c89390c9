/// The bytes behind a tensor: owned (allocated here, 64-byte aligned), borrowed from an owner that
/// keeps them alive (such as a memory-mapped `.kiln` file), or a block of a run's arena.
///
/// Borrowed storage is read-only: it may point into a read-only mapping. Kernels only ever write to
/// storage they allocated themselves (owned or arena).
package final class TensorStorage: @unchecked Sendable {
    /// Alignment of owned allocations; matches the `.kiln` tensor alignment so kernels see one layout.
    package static let alignment = 64

    package let bytes: UnsafeMutableRawPointer
    package let byteCount: Int
    /// Whatever keeps borrowed or arena bytes alive; nil when this object owns `bytes`.
    private let owner: AnyObject?
    private let borrowed: Bool
    /// For arena storage: the last step of the run that the memory plan lets read these bytes; a
    /// later step may be handed the same bytes. Nil for any other storage.
    package let plannedReleaseStep: Int?

    /// Allocates `byteCount` uninitialized bytes.
    package init(uninitializedByteCount byteCount: Int) {
        // A zero-byte tensor still gets a valid, unique pointer.
        self.bytes = UnsafeMutableRawPointer.allocate(
            byteCount: max(byteCount, 1), alignment: TensorStorage.alignment)
        self.byteCount = byteCount
        self.owner = nil
        self.borrowed = false
        self.plannedReleaseStep = nil
    }

    /// Borrows `byteCount` bytes at `bytes`, kept alive by `owner`.
    package init(borrowing bytes: UnsafeRawPointer, byteCount: Int, owner: AnyObject) {
        self.bytes = UnsafeMutableRawPointer(mutating: bytes)
        self.byteCount = byteCount
        self.owner = owner
        self.borrowed = true
        self.plannedReleaseStep = nil
    }

    /// Writable bytes inside a run's arena, kept alive by `arena`, planned to be dead after step
    /// `releaseStep` of the run.
    package init(arenaBytes bytes: UnsafeMutableRawPointer, byteCount: Int, arena: AnyObject, releaseStep: Int) {
        self.bytes = bytes
        self.byteCount = byteCount
        self.owner = arena
        self.borrowed = false
        self.plannedReleaseStep = releaseStep
    }

    /// Writable bytes of a lease on a recording run's pages, which they keep until they die.
    init(lease: RecordingPagePool.Lease, byteCount: Int) {
        self.bytes = lease.pages.bytes
        self.byteCount = byteCount
        self.owner = lease
        self.borrowed = false
        self.plannedReleaseStep = nil
    }

    /// True when the bytes belong to another object (e.g. a mapped file) and must not be written.
    package var isBorrowed: Bool { borrowed }

    /// For bytes borrowed from a mapped `.kiln` file, gives their pages back
    /// (``MappedFile/releasePages(of:byteCount:)``): for a constant an operator has repacked and
    /// will not read again. Does nothing for any other storage.
    package func releaseMappedPages() {
        (owner as? MappedFile)?.releasePages(of: bytes, byteCount: byteCount)
    }

    deinit {
        if owner == nil { bytes.deallocate() }
    }
}
