import Foundation

/// A versioned model repository on disk, shared by any number of reading processes and publishers.
///
/// Layout (see Docs/SERVING.md):
/// ```
/// ROOT/.lock                      flock(2) lock file
/// ROOT/<model>/config.json        optional: how to serve the model (``ModelConfiguration``)
/// ROOT/<model>/labels.json        labels and their history, replaced atomically
/// ROOT/<model>/<version>/model.kiln
/// ```
/// Publishing copies the file into a hidden staging directory, syncs it to disk, and renames the
/// directory to the version number: a reader sees the whole version or none of it. A published
/// version never changes; publish a new version number instead.
public final class ModelStore: Sendable {
    /// The repository's root directory.
    public let root: URL
    /// Name of the model file inside a version directory.
    public static let modelFileName = "model.kiln"
    /// Name of the optional per-model configuration file.
    public static let configurationFileName = "config.json"
    static let labelsFileName = "labels.json"
    /// How many earlier versions a label remembers for ``rollback(label:model:)``.
    static let labelHistoryLimit = 64

    let rootPath: String
    let lock: StoreLock

    /// Opens (and by default creates) a repository.
    /// - Parameters:
    ///   - root: The repository's root directory.
    ///   - createIfMissing: Create `root` when it does not exist.
    /// - Throws: ``ModelStoreError/io(operation:path:reason:)`` when the root is missing or not a directory.
    public init(root: URL, createIfMissing: Bool = true) throws {
        self.root = root.standardizedFileURL
        rootPath = self.root.path(percentEncoded: false)
        lock = StoreLock(path: rootPath + "/.lock")
        if !DurableFiles.isDirectory(rootPath) {
            guard createIfMissing else {
                throw ModelStoreError.io(operation: "open store", path: rootPath, reason: "no such directory")
            }
            do {
                try FileManager.default.createDirectory(atPath: rootPath, withIntermediateDirectories: true)
            } catch {
                throw ModelStoreError.io(operation: "create store", path: rootPath, reason: "\(error)")
            }
        }
    }

    // MARK: Reading

    /// The models in the repository, sorted by name.
    public func models() throws -> [String] {
        try DurableFiles.entries(of: rootPath)
            .filter { ModelStore.isValidName($0) && DurableFiles.isDirectory(modelPath($0)) }
            .sorted()
    }

    /// A model's published versions, ascending. Empty for a model that has none (or does not exist).
    public func versions(model: String) throws -> [Int] {
        try ModelStore.checkName(model)
        return try listVersions(model)
    }

    /// Where a version's model file lives (whether or not it exists).
    public func fileURL(model: String, version: Int) -> URL {
        URL(filePath: versionPath(model, version) + "/" + ModelStore.modelFileName)
    }

    /// The labels of a model and the versions they point at.
    public func labels(model: String) throws -> [String: Int] {
        try ModelStore.checkName(model)
        return try lock.withLock(.shared) { () throws(ModelStoreError) in try readLabels(model) }
            .labels.mapValues(\.version)
    }

    /// The versions a label held before its current one, most recent last.
    public func labelHistory(_ label: String, model: String) throws -> [Int] {
        try ModelStore.checkName(model)
        let file = try lock.withLock(.shared) { () throws(ModelStoreError) in try readLabels(model) }
        guard let record = file.labels[label] else {
            throw ModelStoreError.unknownLabel(model: model, label: label, known: file.labels.keys.sorted())
        }
        return record.history
    }

    /// The model's `config.json`, or nil when it has none.
    /// - Throws: ``ModelStoreError/invalidConfiguration(model:reason:)`` when it is malformed.
    public func configuration(model: String) throws -> ModelConfiguration? {
        try ModelStore.checkName(model)
        return try readConfiguration(model)
    }

    /// What one model looks like at one instant: versions, labels and configuration read together
    /// under the shared lock, so they agree with each other.
    public struct Snapshot: Sendable {
        public var model: String
        /// Published versions, ascending.
        public var versions: [Int]
        public var labels: [String: Int]
        /// The parsed `config.json`, nil when absent.
        public var configuration: ModelConfiguration?
        /// Why `config.json` could not be used, when it exists but is malformed.
        public var configurationError: ModelStoreError?
    }

    /// Reads a consistent ``Snapshot`` of one model.
    public func snapshot(model: String) throws -> Snapshot {
        try ModelStore.checkName(model)
        return try lock.withLock(.shared) { () throws(ModelStoreError) in
            var snapshot = Snapshot(model: model, versions: try listVersions(model),
                                    labels: try readLabels(model).labels.mapValues(\.version))
            do throws(ModelStoreError) {
                snapshot.configuration = try readConfiguration(model)
            } catch {
                snapshot.configurationError = error
            }
            return snapshot
        }
    }

    // MARK: Publishing and removing

    /// Publishes a `.kiln` file as a new version, atomically.
    ///
    /// The file is copied into a staging directory inside the model's directory, synced to disk, and
    /// renamed into place; readers never see a partial version.
    /// - Parameters:
    ///   - file: The model file to copy.
    ///   - model: The model's name.
    ///   - version: A positive version number not yet used by this model.
    /// - Throws: ``ModelStoreError/versionExists(model:version:)``, or an I/O error.
    public func publish(_ file: URL, model: String, version: Int) throws {
        let source = file.standardizedFileURL.path(percentEncoded: false)
        try publish(model: model, version: version) { destination in
            try DurableFiles.copyAndSync(from: source, to: destination.path(percentEncoded: false))
        }
    }

    /// Publishes a new version whose file `write` creates at the URL it is given (for example
    /// `{ try model.write(to: $0) }`), atomically, as ``publish(_:model:version:)`` does.
    public func publish(model: String, version: Int, writingWith write: (URL) throws -> Void) throws {
        try ModelStore.checkName(model)
        guard version >= 1 else { throw ModelStoreError.invalidVersion(model: model, version: version) }
        let finalPath = versionPath(model, version)
        // Fail before copying a large file when the answer is already known; checked again under the lock.
        if DurableFiles.exists(finalPath) { throw ModelStoreError.versionExists(model: model, version: version) }

        let directory = modelPath(model)
        if !DurableFiles.isDirectory(directory) {
            try DurableFiles.makeDirectory(directory)
            try DurableFiles.fsyncDirectory(rootPath)
        }
        let staging = directory + "/.staging-\(ModelStore.uniqueSuffix())"
        try DurableFiles.makeDirectory(staging)
        var committed = false
        defer { if !committed { try? DurableFiles.removeTree(staging) } }
        let stagedFile = staging + "/" + ModelStore.modelFileName
        try write(URL(filePath: stagedFile))
        try DurableFiles.syncFile(stagedFile)
        try DurableFiles.fsyncDirectory(staging)

        try lock.withLock(.exclusive) { () throws(ModelStoreError) in
            // rename(2) would replace an empty directory, so the check must hold the lock.
            if DurableFiles.exists(finalPath) { throw .versionExists(model: model, version: version) }
            try DurableFiles.rename(staging, to: finalPath)
            committed = true
            try DurableFiles.fsyncDirectory(directory)
        }
    }

    /// Removes a version. Servers that have it loaded finish its requests and unload it.
    /// - Throws: ``ModelStoreError/versionIsLabelled(model:version:labels:)`` when a label points at it.
    public func remove(model: String, version: Int) throws {
        try ModelStore.checkName(model)
        let doomed = try lock.withLock(.exclusive) { () throws(ModelStoreError) in
            try detachVersion(model, version)
        }
        try DurableFiles.removeTree(doomed)
    }

    /// Keeps the newest `count` versions of a model and removes older ones, except versions a label
    /// points at.
    /// - Returns: The versions removed.
    @discardableResult
    public func retainNewest(_ count: Int, model: String) throws -> [Int] {
        try ModelStore.checkName(model)
        let detached = try lock.withLock(.exclusive) { () throws(ModelStoreError) in
            let labelled = Set(try readLabels(model).labels.values.map(\.version))
            let doomed = try listVersions(model).dropLast(max(count, 0)).filter { !labelled.contains($0) }
            var detached: [(version: Int, path: String)] = []
            for version in doomed { detached.append((version, try detachVersion(model, version))) }
            return detached
        }
        for entry in detached { try DurableFiles.removeTree(entry.path) }
        return detached.map(\.version)
    }

    /// Renames a version directory out of sight (atomic) and returns where it went, for deletion
    /// outside the lock. Caller holds the exclusive lock.
    private func detachVersion(_ model: String, _ version: Int) throws(ModelStoreError) -> String {
        let path = versionPath(model, version)
        guard version >= 1, DurableFiles.isDirectory(path) else {
            throw .unknownVersion(model: model, version: version, available: try listVersions(model))
        }
        let labels = try readLabels(model).labels.filter { $0.value.version == version }.keys.sorted()
        guard labels.isEmpty else { throw .versionIsLabelled(model: model, version: version, labels: labels) }
        let doomed = modelPath(model) + "/.removing-\(version)-\(ModelStore.uniqueSuffix())"
        try DurableFiles.rename(path, to: doomed)
        try DurableFiles.fsyncDirectory(modelPath(model))
        return doomed
    }

    // MARK: Labels

    /// Points `label` at `version`, remembering the version it held before for ``rollback(label:model:)``.
    /// The change is atomic and durable. Setting a label to the version it already holds does nothing.
    public func setLabel(_ label: String, model: String, version: Int) throws {
        try ModelStore.checkName(model)
        try ModelStore.checkLabel(label)
        try lock.withLock(.exclusive) { () throws(ModelStoreError) in
            let available = try listVersions(model)
            guard available.contains(version) else {
                throw .unknownVersion(model: model, version: version, available: available)
            }
            var file = try readLabels(model)
            if var record = file.labels[label] {
                guard record.version != version else { return }
                record.history.append(record.version)
                record.history = Array(record.history.suffix(ModelStore.labelHistoryLimit))
                record.version = version
                file.labels[label] = record
            } else {
                file.labels[label] = LabelRecord(version: version, history: [])
            }
            try writeLabels(file, model)
        }
    }

    /// Moves `label` back to the version it held before its current one.
    /// - Returns: The version the label now points at.
    /// - Throws: ``ModelStoreError/noPreviousVersion(model:label:)`` when the label has no history,
    ///   ``ModelStoreError/previousVersionRemoved(model:label:version:)`` when that version is gone.
    @discardableResult
    public func rollback(label: String, model: String) throws -> Int {
        try ModelStore.checkName(model)
        return try lock.withLock(.exclusive) { () throws(ModelStoreError) in
            var file = try readLabels(model)
            guard var record = file.labels[label] else {
                throw .unknownLabel(model: model, label: label, known: file.labels.keys.sorted())
            }
            guard let previous = record.history.popLast() else { throw .noPreviousVersion(model: model, label: label) }
            guard try listVersions(model).contains(previous) else {
                throw .previousVersionRemoved(model: model, label: label, version: previous)
            }
            record.version = previous
            file.labels[label] = record
            try writeLabels(file, model)
            return previous
        }
    }

    /// Deletes a label and its history.
    public func removeLabel(_ label: String, model: String) throws {
        try ModelStore.checkName(model)
        try lock.withLock(.exclusive) { () throws(ModelStoreError) in
            var file = try readLabels(model)
            guard file.labels.removeValue(forKey: label) != nil else {
                throw .unknownLabel(model: model, label: label, known: file.labels.keys.sorted())
            }
            try writeLabels(file, model)
        }
    }

    /// Writes a model's `config.json` atomically. Servers apply it to versions they load afterwards.
    public func setConfiguration(_ configuration: ModelConfiguration, model: String) throws {
        try ModelStore.checkName(model)
        try configuration.validate(model: model)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(configuration)
        let directory = modelPath(model)
        try lock.withLock(.exclusive) { () throws(ModelStoreError) in
            if !DurableFiles.isDirectory(directory) {
                try DurableFiles.makeDirectory(directory)
                try DurableFiles.fsyncDirectory(rootPath)
            }
            try DurableFiles.replaceAtomically(directory + "/" + ModelStore.configurationFileName, with: data)
        }
    }

    // MARK: Internals

    func modelPath(_ model: String) -> String { rootPath + "/" + model }
    func versionPath(_ model: String, _ version: Int) -> String { modelPath(model) + "/\(version)" }

    private func listVersions(_ model: String) throws(ModelStoreError) -> [Int] {
        try DurableFiles.entries(of: modelPath(model)).compactMap { name -> Int? in
            // Only canonical numbers: "07" or "+7" would alias version 7.
            guard let version = Int(name), version >= 1, String(version) == name,
                  DurableFiles.exists(versionPath(model, version) + "/" + ModelStore.modelFileName)
            else { return nil }
            return version
        }.sorted()
    }

    struct LabelRecord: Codable, Sendable {
        var version: Int
        /// Earlier versions, most recent last.
        var history: [Int]
    }

    struct LabelFile: Codable, Sendable {
        var formatVersion = 1
        var labels: [String: LabelRecord] = [:]
    }

    private func readLabels(_ model: String) throws(ModelStoreError) -> LabelFile {
        let path = modelPath(model) + "/" + ModelStore.labelsFileName
        guard let data = FileManager.default.contents(atPath: path) else {
            return LabelFile()
        }
        do {
            return try JSONDecoder().decode(LabelFile.self, from: data)
        } catch {
            throw .corruptFile(path: path, reason: "\(error)")
        }
    }

    private func writeLabels(_ file: LabelFile, _ model: String) throws(ModelStoreError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do {
            data = try encoder.encode(file)
        } catch {
            throw .corruptFile(path: ModelStore.labelsFileName, reason: "cannot encode: \(error)")
        }
        try DurableFiles.replaceAtomically(modelPath(model) + "/" + ModelStore.labelsFileName, with: data)
    }

    private func readConfiguration(_ model: String) throws(ModelStoreError) -> ModelConfiguration? {
        let path = modelPath(model) + "/" + ModelStore.configurationFileName
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let configuration: ModelConfiguration
        do {
            configuration = try JSONDecoder().decode(ModelConfiguration.self, from: data)
        } catch let error as DecodingError {
            throw .invalidConfiguration(model: model, reason: ModelStore.explain(error))
        } catch {
            throw .invalidConfiguration(model: model, reason: "\(error)")
        }
        try configuration.validate(model: model)
        return configuration
    }

    /// A decoding error as one readable line: where, and what.
    static func explain(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.isEmpty ? "top level" : codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
                .joined(separator: ".")
        }
        switch error {
        case .dataCorrupted(let context): return "\(path(context.codingPath)): \(context.debugDescription)"
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])): missing"
        case .typeMismatch(let type, let context): return "\(path(context.codingPath)): expected \(type)"
        case .valueNotFound(let type, let context): return "\(path(context.codingPath)): expected \(type), found null"
        @unknown default: return "\(error)"
        }
    }

    static func isValidName(_ name: String) -> Bool {
        guard (1...128).contains(name.utf8.count), let first = name.utf8.first,
              first != UInt8(ascii: "."), first != UInt8(ascii: "-") else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    static func checkName(_ model: String) throws(ModelStoreError) {
        guard isValidName(model) else { throw .invalidModelName(model) }
    }

    static func checkLabel(_ label: String) throws(ModelStoreError) {
        guard isValidName(label) else { throw .invalidLabelName(label) }
    }

    private static func uniqueSuffix() -> String {
        "\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
    }
}
