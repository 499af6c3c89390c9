import Foundation
import Kiln
import KilnServing
import Testing

@Suite struct ModelStoreTests {
    private func makeFile(_ root: TemporaryRoot, name: String, bytes: Int, fill: UInt8) throws -> URL {
        let url = root.url.appending(path: name)
        try Data(repeating: fill, count: bytes).write(to: url)
        return url
    }

    @Test func publishesVersionsAtomicallyAndListsThem() throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url.appending(path: "store"))
        let first = try makeFile(root, name: "a.kiln", bytes: 1000, fill: 1)
        let second = try makeFile(root, name: "b.kiln", bytes: 3000, fill: 2)
        try store.publish(first, model: "mlp", version: 1)
        try store.publish(second, model: "mlp", version: 2)

        #expect(try store.models() == ["mlp"])
        #expect(try store.versions(model: "mlp") == [1, 2])
        #expect(try Data(contentsOf: store.fileURL(model: "mlp", version: 2)) == Data(repeating: 2, count: 3000))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: store.root.appending(path: "mlp").path)
            .filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "staging directories must not outlive a publish: \(leftovers)")
    }

    @Test func refusesToOverwriteAPublishedVersion() throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(try makeFile(root, name: "a", bytes: 10, fill: 1), model: "m", version: 1)
        #expect(throws: ModelStoreError.versionExists(model: "m", version: 1)) {
            try store.publish(try makeFile(root, name: "b", bytes: 10, fill: 9), model: "m", version: 1)
        }
        #expect(try Data(contentsOf: store.fileURL(model: "m", version: 1)) == Data(repeating: 1, count: 10))
    }

    @Test func rejectsBadModelNamesVersionsAndLabels() throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        let file = try makeFile(root, name: "a", bytes: 10, fill: 1)
        for name in ["", "../escape", ".hidden", "-dash", "a/b", "spa ce", String(repeating: "x", count: 129)] {
            #expect(throws: ModelStoreError.invalidModelName(name)) { try store.publish(file, model: name, version: 1) }
        }
        #expect(throws: ModelStoreError.invalidVersion(model: "m", version: 0)) { try store.publish(file, model: "m", version: 0) }
        #expect(throws: ModelStoreError.invalidVersion(model: "m", version: -3)) { try store.publish(file, model: "m", version: -3) }
        try store.publish(file, model: "m", version: 1)
        #expect(throws: ModelStoreError.invalidLabelName("no/slash")) { try store.setLabel("no/slash", model: "m", version: 1) }
    }

    @Test func ignoresDirectoriesThatAreNotCanonicalVersions() throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(try makeFile(root, name: "a", bytes: 10, fill: 1), model: "m", version: 3)
        for name in ["07", "0", "x", "4"] {  // "4" has no model file: an interrupted copy by hand
            try FileManager.default.createDirectory(at: root.url.appending(path: "m/\(name)"), withIntermediateDirectories: true)
        }
        try Data([1]).write(to: root.url.appending(path: "m/07/model.kiln"))
        #expect(try store.versions(model: "m") == [3])
    }

    @Test func labelsMoveRollBackAndPersist() throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        let file = try makeFile(root, name: "a", bytes: 10, fill: 1)
        for version in 1...3 { try store.publish(file, model: "m", version: version) }
        try store.setLabel("stable", model: "m", version: 1)
        try store.setLabel("stable", model: "m", version: 2)
        try store.setLabel("stable", model: "m", version: 2)  // no-op: history must not gain a duplicate
        try store.setLabel("stable", model: "m", version: 3)
        try store.setLabel("canary", model: "m", version: 3)
        #expect(try store.labels(model: "m") == ["stable": 3, "canary": 3])
        #expect(try store.labelHistory("stable", model: "m") == [1, 2])

        let reopened = try ModelStore(root: root.url)
        #expect(try reopened.rollback(label: "stable", model: "m") == 2)
        #expect(try store.labels(model: "m")["stable"] == 2)
        #expect(try store.rollback(label: "stable", model: "m") == 1)
        #expect(throws: ModelStoreError.noPreviousVersion(model: "m", label: "stable")) {
            try store.rollback(label: "stable", model: "m")
        }
        #expect(throws: ModelStoreError.unknownLabel(model: "m", label: "beta", known: ["canary", "stable"])) {
            try store.rollback(label: "beta", model: "m")
        }
        #expect(throws: ModelStoreError.unknownVersion(model: "m", version: 9, available: [1, 2, 3])) {
            try store.setLabel("stable", model: "m", version: 9)
        }
        try store.removeLabel("canary", model: "m")
        #expect(try store.labels(model: "m") == ["stable": 1])
    }

    @Test func removeRefusesLabelledVersionsAndRollbackNamesRemovedOnes() throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        let file = try makeFile(root, name: "a", bytes: 10, fill: 1)
        for version in 1...3 { try store.publish(file, model: "m", version: version) }
        try store.setLabel("stable", model: "m", version: 1)
        try store.setLabel("stable", model: "m", version: 2)
        #expect(throws: ModelStoreError.versionIsLabelled(model: "m", version: 2, labels: ["stable"])) {
            try store.remove(model: "m", version: 2)
        }
        try store.remove(model: "m", version: 1)
        #expect(try store.versions(model: "m") == [2, 3])
        #expect(throws: ModelStoreError.previousVersionRemoved(model: "m", label: "stable", version: 1)) {
            try store.rollback(label: "stable", model: "m")
        }
        #expect(throws: ModelStoreError.unknownVersion(model: "m", version: 1, available: [2, 3])) {
            try store.remove(model: "m", version: 1)
        }
    }

    @Test func retentionKeepsTheNewestAndLabelledVersions() throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        let file = try makeFile(root, name: "a", bytes: 10, fill: 1)
        for version in 1...5 { try store.publish(file, model: "m", version: version) }
        try store.setLabel("stable", model: "m", version: 2)
        #expect(try store.retainNewest(2, model: "m") == [1, 3])
        #expect(try store.versions(model: "m") == [2, 4, 5])
    }

    @Test func configurationRoundTripsAndRejectsUnknownKeys() throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        let configuration = ModelConfiguration(
            versionPolicy: .specific([2, 4]), instances: 2, threadsPerInstance: 1, maxQueueSize: 64,
            batching: BatchingConfiguration(enabled: true, maxBatchSize: 16, maxQueueDelay: .microseconds(250),
                                            preferredBatchSizes: [8, 16]),
            warmup: [["x": [1, 4]]],
            inputs: [TensorDescription(name: "x", dtype: .float32, shape: ["batch", 4], description: "features")])
        try store.setConfiguration(configuration, model: "m")
        #expect(try store.configuration(model: "m") == configuration)

        let json = #"{"versionPolicy": "all", "batching": {"maxBatchSize": 8, "maxQueueDelayMicroseconds": 100}}"#
        try Data(json.utf8).write(to: root.url.appending(path: "m/config.json"))
        let parsed = try #require(try store.configuration(model: "m"))
        #expect(parsed.versionPolicy == .all)
        #expect(parsed.batching.maxQueueDelay == .microseconds(100))
        #expect(parsed.instances == nil && parsed.maxQueueSize == 1024)

        let typo = #"{"versionPolicy": {"latest": 2}, "batching": {"maxBatchSzie": 8}}"#
        try Data(typo.utf8).write(to: root.url.appending(path: "m/config.json"))
        let snapshot = try store.snapshot(model: "m")
        #expect(snapshot.configuration == nil)
        let error = try #require(snapshot.configurationError)
        #expect("\(error)".contains("maxBatchSzie"), "the error must name the unknown key: \(error)")

        let outOfRange = #"{"instances": 0}"#
        try Data(outOfRange.utf8).write(to: root.url.appending(path: "m/config.json"))
        #expect(throws: ModelStoreError.invalidConfiguration(model: "m", reason: "instances must be 1...256, not 0")) {
            try store.configuration(model: "m")
        }
    }

    @Test func versionPoliciesSelect() {
        let available = [5, 1, 3, 9]
        #expect(VersionPolicy.latest(1).select(from: available) == [9])
        #expect(VersionPolicy.latest(3).select(from: available) == [3, 5, 9])
        #expect(VersionPolicy.all.select(from: available) == [1, 3, 5, 9])
        #expect(VersionPolicy.specific([3, 4, 9]).select(from: available) == [3, 9])
    }

    /// A reader listing versions while another thread publishes must only ever see complete files.
    @Test func readersNeverSeePartialVersions() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        let size = 4 << 20
        let file = try makeFile(root, name: "big", bytes: size, fill: 7)
        let publisher = Task.detached {
            for version in 1...12 { try store.publish(file, model: "m", version: version) }
        }
        var observations = 0
        while true {
            let done = publisher.isCancelled || (try? store.versions(model: "m").count) == 12
            for version in try store.versions(model: "m") {
                let attributes = try FileManager.default.attributesOfItem(atPath: store.fileURL(model: "m", version: version).path)
                #expect(attributes[.size] as? Int == size, "version \(version) visible before it was complete")
                observations += 1
            }
            if done { break }
            await Task.yield()
        }
        try await publisher.value
        #expect(observations > 0)
    }

    /// Another process holding the store lock (here the `flock` utility) delays label changes until it lets go.
    @Test func writersWaitForALockHeldByAnotherProcess() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(try makeFile(root, name: "a", bytes: 10, fill: 1), model: "m", version: 1)
        let marker = root.url.appending(path: "held")
        let released = root.url.appending(path: "released")
        let process = Process()
        process.executableURL = URL(filePath: "/usr/bin/flock")
        process.arguments = [root.url.appending(path: ".lock").path, "-c", "touch '\(marker.path)'; sleep 0.4; touch '\(released.path)'"]
        try process.run()
        try await eventually("the other process to hold the lock") { FileManager.default.fileExists(atPath: marker.path) }
        try store.setLabel("stable", model: "m", version: 1)
        #expect(FileManager.default.fileExists(atPath: released.path),
                "the label was written while another process held the lock")
        process.waitUntilExit()
        #expect(try store.labels(model: "m") == ["stable": 1])
    }
}
