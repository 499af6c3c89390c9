import Foundation
import Kiln
import KilnServing
import Synchronization
import Testing

@Suite struct ModelServerTests {
    /// Checks that a response is what the version it reports computes from the caller's own input.
    private func check(_ prediction: Prediction, input: Tensor) throws {
        let y = try #require(prediction.outputs["y"])
        #expect(y.shape == input.shape)
        #expect(try y.scalars(as: Float.self) == expectedOutput(input, version: prediction.version))
    }

    @Test func servesLatestSpecificVersionsAndLabels() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 1), model: "m")
        try store.publish(TestModel(version: 2), model: "m")
        try store.setLabel("stable", model: "m", version: 1)
        let server = makeServer(store)
        await server.reload()
        let x = try sampleInput(rows: 2, features: 4, seed: 1)

        let latest = try await server.predict(model: "m", inputs: ["x": x])
        #expect(latest.version == 2)
        try check(latest, input: x)
        // The default policy serves only the newest version; the label pins version 1 in addition.
        let stable = try await server.predict(model: "m", version: .label("stable"), inputs: ["x": x])
        #expect(stable.version == 1)
        try check(stable, input: x)
        #expect(try await server.predict(model: "m", version: 1, inputs: ["x": x]).version == 1)

        await #expect(throws: ServingError.unknownVersion(model: "m", version: 7, serving: [1, 2])) {
            try await server.predict(model: "m", version: 7, inputs: ["x": x])
        }
        await #expect(throws: ServingError.unknownLabel(model: "m", label: "canary", known: ["stable"])) {
            try await server.predict(model: "m", version: .label("canary"), inputs: ["x": x])
        }
        await #expect(throws: ServingError.unknownModel("nope", known: ["m"])) {
            try await server.predict(model: "nope", inputs: ["x": x])
        }
        await server.shutdown()
    }

    @Test func firstPredictionWaitsForTheFirstLoadInsteadOfFailing() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 3), model: "m")
        let server = makeServer(store)
        let x = try sampleInput(rows: 1, features: 4, seed: 2)
        // No reload() and no run(): the first request triggers the first look at the store.
        #expect(try await server.predict(model: "m", inputs: ["x": x]).version == 3)
        await server.shutdown()
    }

    @Test func rejectsBadInputsWithTypedErrors() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 1), model: "m")
        let server = makeServer(store)
        await server.reload()
        let declared = TensorType(.float32, ["batch", 4])
        await #expect(throws: ServingError.invalidInput(model: "m", version: 1, .missingInput(name: "x", expected: declared))) {
            try await server.predict(model: "m", inputs: [:])
        }
        await #expect(throws: ServingError.invalidInput(model: "m", version: 1, .dimensionMismatch(input: "x", axis: 1, expected: 4, actual: 3))) {
            try await server.predict(model: "m", inputs: ["x": try sampleInput(rows: 1, features: 3, seed: 0)])
        }
        await #expect(throws: ServingError.invalidInput(model: "m", version: 1, .dtypeMismatch(input: "x", expected: .float32, actual: .int64))) {
            try await server.predict(model: "m", inputs: ["x": try Tensor(shape: [1, 4], scalars: [1, 2, 3, 4] as [Int64])])
        }
        await #expect(throws: ServingError.invalidInput(model: "m", version: 1, .unknownInput(name: "z", known: ["x"]))) {
            try await server.predict(model: "m", inputs: ["x": try sampleInput(rows: 1, features: 4, seed: 0),
                                                          "z": try sampleInput(rows: 1, features: 4, seed: 0)])
        }
        let status = try #require(await server.status(model: "m"))
        #expect(status.version(1)?.failed == 4)
        #expect(status.version(1)?.succeeded == 0)
        await server.shutdown()
    }

    @Test func labelMovesAndRollbacksMoveTraffic() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        for version in 1...3 { try store.publish(TestModel(version: version), model: "m") }
        try store.setLabel("stable", model: "m", version: 1)
        let server = makeServer(store)
        await server.reload()
        let x = try sampleInput(rows: 1, features: 4, seed: 3)
        #expect(try await server.predict(model: "m", version: .label("stable"), inputs: ["x": x]).version == 1)

        try store.setLabel("stable", model: "m", version: 2)
        await server.reload()
        #expect(try await server.predict(model: "m", version: .label("stable"), inputs: ["x": x]).version == 2)

        try store.rollback(label: "stable", model: "m")
        await server.reload()
        #expect(try await server.predict(model: "m", version: .label("stable"), inputs: ["x": x]).version == 1)
        // Version 2 is neither latest nor labelled any more: drained and unloaded.
        try await eventually("version 2 to unload") {
            await server.status(model: "m")?.version(2)?.state == .unloaded
        }
        await #expect(throws: ServingError.self) {
            try await server.predict(model: "m", version: 2, inputs: ["x": x])
        }
        await server.shutdown()
    }

    @Test func versionPolicyAllServesEveryVersion() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        for version in 1...3 { try store.publish(TestModel(version: version), model: "m") }
        try store.setConfiguration(ModelConfiguration(versionPolicy: .all), model: "m")
        let server = makeServer(store)
        await server.reload()
        let x = try sampleInput(rows: 1, features: 4, seed: 4)
        for version in 1...3 {
            let prediction = try await server.predict(model: "m", version: .specific(version), inputs: ["x": x])
            #expect(prediction.version == version)
            try check(prediction, input: x)
        }
        #expect(try await server.predict(model: "m", inputs: ["x": x]).version == 3)
        await server.shutdown()
    }

    /// A version copied into the store by hand, truncated or with a bad checksum, is refused with
    /// its reason in the status, and the previous version keeps serving.
    @Test func corruptVersionIsRefusedAndThePreviousKeepsServing() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 1), model: "m")
        let server = makeServer(store)
        await server.reload()
        let x = try sampleInput(rows: 1, features: 4, seed: 5)

        // Bypass publish, as a bad copy would: half a file as version 2, one flipped byte in version 3.
        let truncated = try TestModel(version: 2).serialized()
        try FileManager.default.createDirectory(at: root.url.appending(path: "m/2"), withIntermediateDirectories: true)
        try Data(truncated.prefix(truncated.count / 2)).write(to: store.fileURL(model: "m", version: 2))
        var flipped = try TestModel(version: 3).serialized()
        flipped[200] ^= 0x40  // inside the first section after the header and section table
        try FileManager.default.createDirectory(at: root.url.appending(path: "m/3"), withIntermediateDirectories: true)
        try Data(flipped).write(to: store.fileURL(model: "m", version: 3))
        await server.reload()

        let status = try #require(await server.status(model: "m"))
        guard case .failed(let truncatedReason)? = status.version(2)?.state,
              case .failed(let checksumReason)? = status.version(3)?.state else {
            Issue.record("versions 2 and 3 must be failed: \(status.versions)")
            return
        }
        #expect(truncatedReason.contains("cannot load model.kiln") && truncatedReason.contains("truncated"),
                "\(truncatedReason)")
        #expect(checksumReason.contains("cannot load model.kiln") && checksumReason.contains("checksum does not match"),
                "\(checksumReason)")
        #expect(status.latest == 1)
        #expect(status.version(1)?.state == .ready)
        let prediction = try await server.predict(model: "m", inputs: ["x": x])
        #expect(prediction.version == 1)
        try check(prediction, input: x)
        await #expect(throws: ServingError.versionUnavailable(model: "m", version: 3, state: .failed(reason: checksumReason))) {
            try await server.predict(model: "m", version: 3, inputs: ["x": x])
        }

        // A label moved onto a failed version keeps serving the version it had.
        try store.setLabel("stable", model: "m", version: 1)
        await server.reload()
        try store.setLabel("stable", model: "m", version: 3)
        await server.reload()
        #expect(try await server.predict(model: "m", version: .label("stable"), inputs: ["x": x]).version == 1)
        let labels = try #require(await server.status(model: "m")).labels
        #expect(labels == [LabelStatus(label: "stable", target: 3, serving: 1)])

        // Unchanged broken files are not reloaded on every poll; a good new version takes over.
        try store.publish(TestModel(version: 4), model: "m")
        await server.reload()
        #expect(try await server.predict(model: "m", inputs: ["x": x]).version == 4)
        await server.shutdown()
    }

    @Test func failedWarmUpKeepsThePreviousVersionServing() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 1), model: "m")
        let server = makeServer(store)
        await server.reload()
        // From now on, versions load with a warm-up that feeds an input the model does not have.
        try store.setConfiguration(ModelConfiguration(warmup: [["image": [1, 3]]]), model: "m")
        try store.publish(TestModel(version: 2), model: "m")
        await server.reload()
        let status = try #require(await server.status(model: "m"))
        guard case .failed(let reason)? = status.version(2)?.state else {
            Issue.record("version 2 must have failed its warm-up: \(status.versions)")
            return
        }
        #expect(reason.contains("warm-up") && reason.contains("image"))
        #expect(try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: 6)]).version == 1)
        await server.shutdown()
    }

    @Test func invalidConfigurationStopsNewLoadsButKeepsServing() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 1), model: "m")
        let server = makeServer(store)
        await server.reload()
        try Data(#"{"instancez": 2}"#.utf8).write(to: root.url.appending(path: "m/config.json"))
        try store.publish(TestModel(version: 2), model: "m")
        await server.reload()
        let status = try #require(await server.status(model: "m"))
        #expect(status.configurationError?.contains("instancez") == true)
        #expect(status.latest == 1)
        #expect(try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: 7)]).version == 1)

        try FileManager.default.removeItem(at: root.url.appending(path: "m/config.json"))
        await server.reload()
        #expect(try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: 7)]).version == 2)
        #expect(await server.status(model: "m")?.configurationError == nil)
        await server.shutdown()
    }

    @Test func modelWithoutVersionsHasNoServingVersion() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 1), model: "m")
        let server = makeServer(store)
        await server.reload()
        try store.remove(model: "m", version: 1)
        await server.reload()
        await #expect(throws: ServingError.noServingVersion(model: "m", reason: "the store has no version of it")) {
            try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: 8)])
        }
        await server.shutdown()
    }

    /// 8 callers predict continuously while 20 new versions are published and old ones removed:
    /// no request fails, each response is the output of the version it reports, and once the last
    /// swap is done every response comes from the newest version.
    @Test func swapsVersionsUnderLoadWithoutLosingRequests() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 1), model: "m")
        let server = makeServer(store)
        await server.reload()
        let lastVersion = 21

        final class Flags: Sendable {
            let stop = Atomic<Bool>(false)
            let lastSwapDone = Atomic<Bool>(false)
        }
        struct CallerReport: Sendable {
            var responses = 0
            var failures: [String] = []
            var wrongOutputs = 0
            var wentBackwards = 0
            var staleAfterLastSwap = 0
            var versionsSeen: Set<Int> = []
        }
        let flags = Flags()

        let reports = try await withThrowingTaskGroup(of: CallerReport.self) { group in
            for caller in 0..<8 {
                group.addTask {
                    var report = CallerReport()
                    var lastVersion = 0
                    var iteration = 0
                    while !flags.stop.load(ordering: .acquiring) {
                        let afterLastSwap = flags.lastSwapDone.load(ordering: .acquiring)
                        let x = try sampleInput(rows: 1 + caller % 3, features: 4, seed: caller * 100_000 + iteration)
                        iteration += 1
                        do {
                            let prediction = try await server.predict(model: "m", inputs: ["x": x])
                            report.responses += 1
                            report.versionsSeen.insert(prediction.version)
                            let y = try prediction.outputs["y"]?.scalars(as: Float.self)
                            if y != (try expectedOutput(x, version: prediction.version)) { report.wrongOutputs += 1 }
                            if prediction.version < lastVersion { report.wentBackwards += 1 }
                            lastVersion = prediction.version
                            if afterLastSwap && prediction.version != 21 { report.staleAfterLastSwap += 1 }
                        } catch {
                            report.failures.append("\(error)")
                        }
                    }
                    return report
                }
            }
            for version in 2...lastVersion {
                try store.publish(TestModel(version: version), model: "m")
                await server.reload()
                try store.retainNewest(2, model: "m")
                try await Task.sleep(for: .milliseconds(5))
            }
            await server.reload()
            flags.lastSwapDone.store(true, ordering: .releasing)
            try await Task.sleep(for: .milliseconds(200))
            flags.stop.store(true, ordering: .releasing)
            return try await group.reduce(into: []) { $0.append($1) }
        }

        let responses = reports.map(\.responses).reduce(0, +)
        let failures = reports.flatMap(\.failures)
        #expect(failures.isEmpty, "failed requests: \(failures.prefix(5))")
        #expect(reports.map(\.wrongOutputs).reduce(0, +) == 0)
        #expect(reports.map(\.wentBackwards).reduce(0, +) == 0)
        #expect(reports.map(\.staleAfterLastSwap).reduce(0, +) == 0)
        #expect(responses > 200, "too little load to mean anything: \(responses) responses")
        let seen = reports.map(\.versionsSeen).reduce(into: Set<Int>()) { $0.formUnion($1) }
        #expect(seen.contains(lastVersion) && seen.count >= 5, "versions seen: \(seen.sorted())")

        try await eventually("old versions to unload") {
            let status = await server.status(model: "m")
            return status?.versions.filter { $0.state != .unloaded }.map(\.version) == [lastVersion]
        }
        await server.shutdown()
    }
}
