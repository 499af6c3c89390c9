#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

extension Model {
    /// Loads a `.kiln` file: memory-maps it, verifies every checksum, decodes metadata and graph,
    /// then validates the graph and infers its types. Weights are used in place from the mapping
    /// (``Tensor/isMemoryMapped`` is true): loading copies no weight bytes.
    /// - Parameter url: A file URL.
    /// - Throws: ``FormatError`` for an unreadable, corrupt or unsupported file; ``GraphError`` when
    ///   the graph it holds is invalid.
    public convenience init(contentsOf url: URL) throws {
        // Before the checksum threads start: OpenBLAS's idle workers would take turns with them.
        BLASLibrary.keepSingleThreaded()
        let file = try MappedFile(path: url.path)
        // The weights' checksum is computed while the graph is decoded and its types inferred; the
        // model is returned only once it matched.
        let (graph, metadata, order) = try KilnFileReader.read(file.bytes, backing: .borrow(owner: file)) { graph, metadata in
            var graph = graph
            let order = try graph.inferTypesReturningOrder()
            return (graph, metadata, order)
        }
        self.init(checkedGraph: graph, metadata: metadata, executionOrder: order)
    }

    /// Loads a model from the bytes of a `.kiln` file (weights are copied out of `data`).
    /// - Throws: ``FormatError`` or ``GraphError``, as ``init(contentsOf:)``.
    public convenience init(data: [UInt8]) throws {
        let (graph, metadata) = try data.withUnsafeBytes { bytes in
            try KilnFileReader.read(bytes, backing: .copy)
        }
        try self.init(graph: graph, metadata: metadata)
    }

    /// The model as the bytes of a `.kiln` file.
    /// - Throws: ``FormatError/tooLarge(what:)`` when a count or string does not fit the format.
    public func serialized() throws -> [UInt8] {
        try KilnFileWriter(graph: graph, metadata: metadata).bytes()
    }

    /// Writes the model to a `.kiln` file, atomically: the bytes go to a temporary file in the same
    /// folder, which is flushed to disk and then renamed over `url`. Readers never see a partial file,
    /// and a model mapped from the old file keeps working.
    /// - Throws: ``FormatError``.
    public func write(to url: URL) throws {
        let writer = try KilnFileWriter(graph: graph, metadata: metadata)
        let path = url.path
        let folder = url.deletingLastPathComponent().path
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp").path
        let descriptor = open(temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FormatError.io(path: temporary, reason: Model.lastError("cannot create")) }
        var renamed = false
        defer {
            close(descriptor)
            if !renamed { unlink(temporary) }
        }
        let length = writer.fileLength
        guard ftruncate(descriptor, off_t(length)) == 0 else {
            throw FormatError.io(path: temporary, reason: Model.lastError("cannot size"))
        }
        // Writing through a shared mapping fills the file without a second in-memory copy of the weights.
        guard let address = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0), address != MAP_FAILED else {
            throw FormatError.io(path: temporary, reason: Model.lastError("cannot map"))
        }
        writer.write(into: UnsafeMutableRawBufferPointer(start: address, count: length))
        let synced = msync(address, length, MS_SYNC) == 0
        munmap(address, length)
        guard synced, fsync(descriptor) == 0 else { throw FormatError.io(path: temporary, reason: Model.lastError("cannot flush")) }
        guard rename(temporary, path) == 0 else { throw FormatError.io(path: path, reason: Model.lastError("cannot rename into place")) }
        renamed = true
        // Make the rename itself durable.
        let folderDescriptor = open(folder.isEmpty ? "." : folder, O_RDONLY | O_CLOEXEC)
        if folderDescriptor >= 0 {
            fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }

    private static func lastError(_ action: String) -> String {
        "\(action): \(String(cString: strerror(errno)))"
    }
}
