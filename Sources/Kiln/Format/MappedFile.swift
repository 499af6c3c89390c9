#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A read-only, private memory mapping of a whole file. Tensors borrowed from a `.kiln` file keep it
/// alive as their storage owner; the mapping is removed when the last of them goes.
package final class MappedFile: @unchecked Sendable {
    // @unchecked: the mapping is read-only and never changes after init.
    package let bytes: UnsafeRawBufferPointer
    private let mappedLength: Int

    /// Maps the file at `path`.
    /// - Throws: ``FormatError/io(path:reason:)`` when it cannot be opened, examined or mapped.
    package init(path: String) throws(FormatError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(path: path, reason: MappedFile.lastError("cannot open")) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .io(path: path, reason: MappedFile.lastError("cannot stat")) }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw .io(path: path, reason: "not a regular file") }
        let length = Int(status.st_size)
        guard length > 0 else {
            // mmap refuses zero lengths; an empty file is reported by the reader as truncated.
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            mappedLength = 0
            return
        }
        guard let address = mmap(nil, length, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            throw .io(path: path, reason: MappedFile.lastError("cannot map"))
        }
        bytes = UnsafeRawBufferPointer(start: address, count: length)
        mappedLength = length
    }

    /// Gives back the physical pages that lie wholly inside `byteCount` bytes at `region` (a
    /// region of this mapping; anything else is ignored), for weights a kernel has copied into a
    /// layout of its own. The mapping is read-only and private, so its pages are clean copies of
    /// the file's: reading the region again faults them back in from the file. ONNX Runtime
    /// likewise frees an initializer once it has prepacked it.
    package func releasePages(of region: UnsafeRawPointer, byteCount: Int) {
        guard let base = bytes.baseAddress, byteCount > 0 else { return }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = Int(bitPattern: region), end = start + byteCount
        guard pageSize > 0, start >= Int(bitPattern: base), end <= Int(bitPattern: base) + bytes.count else { return }
        let first = (start + pageSize - 1) / pageSize * pageSize, last = end / pageSize * pageSize
        guard last > first, let pages = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(pages, last - first, Int32(MADV_DONTNEED))
    }

    private static func lastError(_ action: String) -> String {
        "\(action): \(String(cString: strerror(errno)))"
    }

    deinit {
        if let base = bytes.baseAddress, mappedLength > 0 {
            munmap(UnsafeMutableRawPointer(mutating: base), mappedLength)
        }
    }
}
