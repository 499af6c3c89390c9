import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The file-system steps that make publishing crash-safe: data reaches the disk (fsync) before a
/// rename makes it visible, and the rename itself is made durable by syncing the directory.
enum DurableFiles {
    static func errorReason(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }

    /// Opens `path`, retrying when a signal interrupts the call.
    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(ModelStoreError) -> Int32 {
        while true {
            let descriptor = path.withCString { Foundation.open($0, flags, mode) }
            if descriptor >= 0 { return descriptor }
            if errno == EINTR { continue }
            throw .io(operation: "open", path: path, reason: errorReason())
        }
    }

    static func fsync(_ descriptor: Int32, path: String) throws(ModelStoreError) {
        while Foundation.fsync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw .io(operation: "fsync", path: path, reason: errorReason())
        }
    }

    /// Makes the entries of a directory (a rename, a new file) survive a crash.
    static func fsyncDirectory(_ path: String) throws(ModelStoreError) {
        let descriptor = try open(path, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { close(descriptor) }
        try fsync(descriptor, path: path)
    }

    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(ModelStoreError) {
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "write", path: path, reason: errorReason())
            }
            offset += written
        }
    }

    /// Copies `source` to a new file `destination` (which must not exist) and syncs it to disk.
    static func copyAndSync(from source: String, to destination: String) throws(ModelStoreError) {
        let input = try open(source, flags: O_RDONLY | O_CLOEXEC)
        defer { close(input) }
        let output = try open(destination, flags: O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC)
        defer { close(output) }
        let chunkSize = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = Foundation.read(input, buffer.baseAddress!, chunkSize)
            if count < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "read", path: source, reason: errorReason())
            }
            if count == 0 { break }
            try writeAll(output, UnsafeRawBufferPointer(rebasing: buffer[0..<count]), path: destination)
        }
        try fsync(output, path: destination)
    }

    /// Syncs an existing file's bytes to disk (for files produced by a caller's writer closure).
    static func syncFile(_ path: String) throws(ModelStoreError) {
        let descriptor = try open(path, flags: O_RDONLY | O_CLOEXEC)
        defer { close(descriptor) }
        try fsync(descriptor, path: path)
    }

    /// Replaces `path` with `data` so that a reader sees either the old or the new contents, never a
    /// mix: write a temporary sibling, sync it, rename it over `path`, sync the directory.
    static func replaceAtomically(_ path: String, with data: Data) throws(ModelStoreError) {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = "\(directory)/.\((path as NSString).lastPathComponent).tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let descriptor = try open(temporary, flags: O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC)
        do throws(ModelStoreError) {
            var failure: ModelStoreError?
            data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
                do throws(ModelStoreError) {
                    try writeAll(descriptor, bytes, path: temporary)
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
            try fsync(descriptor, path: temporary)
            close(descriptor)
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        try rename(temporary, to: path)
        try fsyncDirectory(directory)
    }

    static func rename(_ source: String, to destination: String) throws(ModelStoreError) {
        if Foundation.rename(source, destination) != 0 {
            let reason = errorReason()
            throw .io(operation: "rename to \(destination)", path: source, reason: reason)
        }
    }

    static func makeDirectory(_ path: String) throws(ModelStoreError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw .io(operation: "mkdir", path: path, reason: errorReason())
        }
    }

    static func exists(_ path: String) -> Bool {
        var information = stat()
        return stat(path, &information) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var information = stat()
        return stat(path, &information) == 0 && (information.st_mode & S_IFMT) == S_IFDIR
    }

    /// Names in a directory, without `.` and `..`; empty when the directory does not exist.
    static func entries(of path: String) throws(ModelStoreError) -> [String] {
        guard let directory = opendir(path) else {
            if errno == ENOENT { return [] }
            throw .io(operation: "opendir", path: path, reason: errorReason())
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Deletes a file or a directory tree.
    static func removeTree(_ path: String) throws(ModelStoreError) {
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw .io(operation: "remove", path: path, reason: "\(error)")
        }
    }

    /// A file's identity: it changes when a file is replaced, even by one of the same size.
    static func identity(_ path: String) -> FileIdentity? {
        var information = stat()
        guard stat(path, &information) == 0 else { return nil }
        #if canImport(Darwin)
        let modified = information.st_mtimespec
        #else
        let modified = information.st_mtim
        #endif
        return FileIdentity(device: UInt64(information.st_dev), inode: UInt64(information.st_ino),
                            size: Int64(information.st_size),
                            modified: Int64(modified.tv_sec) * 1_000_000_000 + Int64(modified.tv_nsec))
    }
}

/// Identifies one version of a file on disk, so the server can tell a fixed file from the one that failed.
struct FileIdentity: Sendable, Hashable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: Int64
}
