/// The bytes behind a tensor: either owned (allocated here, 64-byte aligned) or borrowed from an
/// owner that keeps them alive, such as a memory-mapped `.kiln` file.
///
/// Borrowed storage is read-only: it may point into a read-only mapping. Kernels only ever write to
/// storage they allocated themselves.
package final class TensorStorage: @unchecked Sendable {
    /// Alignment of owned allocations; matches the `.kiln` tensor alignment so kernels see one layout.
    package static let alignment = 64

    package let bytes: UnsafeMutableRawPointer
    package let byteCount: Int
    /// Whatever keeps borrowed bytes alive; nil when this object owns `bytes`.
    private let owner: AnyObject?

    /// Allocates `byteCount` uninitialized bytes.
    package init(uninitializedByteCount byteCount: Int) {
        // A zero-byte tensor still gets a valid, unique pointer.
        self.bytes = UnsafeMutableRawPointer.allocate(
            byteCount: max(byteCount, 1), alignment: TensorStorage.alignment)
        self.byteCount = byteCount
        self.owner = nil
    }

    /// Allocates `byteCount` zeroed bytes.
    package convenience init(zeroedByteCount byteCount: Int) {
        self.init(uninitializedByteCount: byteCount)
        bytes.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
    }

    /// Borrows `byteCount` bytes at `bytes`, kept alive by `owner`.
    package init(borrowing bytes: UnsafeRawPointer, byteCount: Int, owner: AnyObject) {
        self.bytes = UnsafeMutableRawPointer(mutating: bytes)
        self.byteCount = byteCount
        self.owner = owner
    }

    /// True when the bytes belong to another object (e.g. a mapped file).
    package var isBorrowed: Bool { owner != nil }

    deinit {
        if owner == nil { bytes.deallocate() }
    }
}
