import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An advisory lock on `ROOT/.lock`, shared between processes with `flock(2)`.
///
/// Writers (publish, labels, remove) hold it exclusively only for their short check-and-rename step;
/// readers hold it shared while they take a snapshot, so a snapshot's versions and labels agree with
/// each other. Each acquisition opens its own descriptor, so the lock also orders threads of one
/// process (flock locks belong to open file descriptions, not to processes).
struct StoreLock: Sendable {
    enum Mode { case shared, exclusive }

    let path: String

    func withLock<Result>(_ mode: Mode, _ body: () throws(ModelStoreError) -> Result) throws(ModelStoreError) -> Result {
        var descriptor = path.withCString { open($0, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
        if descriptor < 0 && (errno == EACCES || errno == EROFS) {
            // A reader without write permission can still lock an existing lock file.
            descriptor = path.withCString { open($0, O_RDONLY | O_CLOEXEC) }
            if descriptor < 0 && errno == ENOENT && mode == .shared {
                // Nobody can have published into a root that has no lock file and cannot get one.
                return try body()
            }
        }
        guard descriptor >= 0 else {
            throw .io(operation: "open lock file", path: path, reason: DurableFiles.errorReason())
        }
        defer { close(descriptor) }  // closing the descriptor releases the lock
        let operation = mode == .shared ? LOCK_SH : LOCK_EX
        while flock(descriptor, operation) != 0 {
            if errno == EINTR { continue }
            throw .io(operation: "flock", path: path, reason: DurableFiles.errorReason())
        }
        return try body()
    }
}
