import Foundation

/// Reads tensor bytes that an ONNX model stores in files next to it (`data_location: EXTERNAL`).
///
/// The model decides which file is opened, so locations are confined to the model's folder:
/// absolute paths, `..` components and symbolic links that lead outside it are refused, and every
/// offset and length is checked against the file's size before reading.
package struct ONNXExternalDataReader: Sendable {
    /// The folder locations are relative to (normally the folder holding the `.onnx` file).
    package var baseDirectory: URL

    package init(baseDirectory: URL) {
        self.baseDirectory = baseDirectory
    }

    /// The `byteCount` bytes the entries (`location`, `offset`, `length`) point at.
    package func read(tensor: String, entries: [Onnx_StringStringEntryProto], byteCount: Int)
        throws(ONNXImportError) -> Data
    {
        var location: String?
        var offset = 0
        var length: Int?
        for entry in entries {
            switch entry.key {
            case "location": location = entry.value
            case "offset": offset = try Self.parseSize(entry.value, key: "offset", tensor: tensor)
            case "length": length = try Self.parseSize(entry.value, key: "length", tensor: tensor)
            default: break  // `checksum` and future keys do not change where the bytes are
            }
        }
        guard let location, !location.isEmpty else {
            throw .invalidExternalData(tensor: tensor, reason: "no location is given")
        }
        if let length, length != byteCount {
            throw .invalidExternalData(
                tensor: tensor, reason: "length is \(length) bytes, but the tensor's dims need \(byteCount)")
        }
        let file = try resolve(location, tensor: tensor)

        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: file)
        } catch {
            throw .invalidExternalData(tensor: tensor, reason: "cannot open '\(location)': \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        do {
            let fileSize = try handle.seekToEnd()
            let (end, overflow) = offset.addingReportingOverflow(byteCount)
            guard !overflow, UInt64(end) <= fileSize else {
                throw ONNXImportError.invalidExternalData(
                    tensor: tensor,
                    reason: "bytes \(offset)..<\(overflow ? "overflow" : String(end)) lie outside '\(location)' (\(fileSize) bytes)")
            }
            if length == nil, UInt64(end) != fileSize {
                // Without a length the tensor runs to the end of the file.
                throw ONNXImportError.invalidExternalData(
                    tensor: tensor,
                    reason: "no length is given and '\(location)' holds \(fileSize - UInt64(offset)) bytes after offset \(offset), but the tensor's dims need \(byteCount)")
            }
            try handle.seek(toOffset: UInt64(offset))
            let bytes = try handle.read(upToCount: byteCount) ?? Data()
            guard bytes.count == byteCount else {
                throw ONNXImportError.invalidExternalData(
                    tensor: tensor, reason: "read \(bytes.count) of \(byteCount) bytes from '\(location)'")
            }
            return bytes
        } catch let error as ONNXImportError {
            throw error
        } catch {
            throw .invalidExternalData(tensor: tensor, reason: "reading '\(location)' failed: \(error.localizedDescription)")
        }
    }

    /// The file `location` names, after checking it stays inside ``baseDirectory``.
    private func resolve(_ location: String, tensor: String) throws(ONNXImportError) -> URL {
        guard !location.hasPrefix("/") else {
            throw .invalidExternalData(tensor: tensor, reason: "location '\(location)' is an absolute path")
        }
        let components = location.split(separator: "/", omittingEmptySubsequences: true)
        guard !components.contains("..") else {
            throw .invalidExternalData(tensor: tensor, reason: "location '\(location)' leaves the model's folder")
        }
        guard !location.contains("\0") else {
            throw .invalidExternalData(tensor: tensor, reason: "location contains a NUL character")
        }
        // Symbolic links are followed on both sides so a link inside the folder cannot point out of it.
        let base = baseDirectory.standardizedFileURL.resolvingSymlinksInPath()
        let file = base.appendingPathComponent(location).standardizedFileURL.resolvingSymlinksInPath()
        let basePath = base.path.hasSuffix("/") ? base.path : base.path + "/"
        guard file.path.hasPrefix(basePath) else {
            throw .invalidExternalData(tensor: tensor, reason: "location '\(location)' leads outside the model's folder")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory) else {
            throw .invalidExternalData(tensor: tensor, reason: "file '\(location)' does not exist next to the model")
        }
        guard !isDirectory.boolValue,
              let attributes = try? FileManager.default.attributesOfItem(atPath: file.path),
              attributes[.type] as? FileAttributeType == .typeRegular
        else {
            throw .invalidExternalData(tensor: tensor, reason: "'\(location)' is not a regular file")
        }
        return file
    }

    private static func parseSize(_ text: String, key: String, tensor: String) throws(ONNXImportError) -> Int {
        guard !text.isEmpty, text.allSatisfy(\.isASCIIDigit), let value = Int(text) else {
            throw .invalidExternalData(tensor: tensor, reason: "\(key) '\(text)' is not a non-negative integer")
        }
        return value
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
