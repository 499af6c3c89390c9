import Foundation
import Kiln
import KilnServing
import Logging
import Metrics
import MetricsTestKit
import Testing

@Suite struct ObservabilityTests {
    @Test func metricsCountRequestsLoadsLatenciesAndVersionStates() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 1), model: "m")
        let metrics = TestMetrics()
        let server = makeServer(store, metrics: metrics)
        await server.reload()
        for seed in 0..<3 {
            _ = try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: seed)])
        }
        await #expect(throws: ServingError.self) {
            try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 5, seed: 0)])
        }
        await #expect(throws: ServingError.self) {
            try await server.predict(model: "other", inputs: [:])
        }
        await #expect(throws: ServingError.self) {
            try await server.predict(model: "m", version: 9, inputs: [:])
        }

        func requests(_ version: String, _ outcome: String, model: String = "m") throws -> Int64 {
            try metrics.expectCounter("kiln_requests_total", [("model", model), ("version", version), ("outcome", outcome)]).totalValue
        }
        #expect(try requests("1", "success") == 3)
        #expect(try requests("1", "invalid_input") == 1)
        #expect(try requests("none", "unknown_version") == 1)
        #expect(try requests("none", "unknown_model", model: "_unknown") == 1)
        let dimensions = [("model", "m"), ("version", "1")]
        #expect(try metrics.expectTimer("kiln_request_duration_seconds", dimensions).values.count == 4)
        #expect(try metrics.expectTimer("kiln_queue_duration_seconds", dimensions).values.count == 3)
        #expect(try metrics.expectTimer("kiln_compute_duration_seconds", dimensions).values.count == 3)
        #expect(try metrics.expectRecorder("kiln_batch_size", dimensions).values == [1, 1, 1])
        #expect(try metrics.expectMeter("kiln_inflight_requests", [("model", "m")]).lastValue == 0)
        #expect(try metrics.expectCounter("kiln_model_loads_total", [("model", "m"), ("outcome", "success")]).totalValue == 1)
        #expect(try metrics.expectTimer("kiln_model_load_duration_seconds", [("model", "m")]).values.count == 1)
        func state(_ version: String, _ name: String) throws -> Double? {
            try metrics.expectMeter("kiln_version_state", [("model", "m"), ("version", version), ("state", name)]).lastValue
        }
        #expect(try state("1", "ready") == 1)

        // A failed load and a swap show in the load counter and the state gauges.
        try FileManager.default.createDirectory(at: root.url.appending(path: "m/2"), withIntermediateDirectories: true)
        try Data("{".utf8).write(to: store.fileURL(model: "m", version: 2))
        try store.publish(TestModel(version: 3), model: "m")
        await server.reload()
        #expect(try metrics.expectCounter("kiln_model_loads_total", [("model", "m"), ("outcome", "failure")]).totalValue == 0)
        try store.remove(model: "m", version: 3)
        await server.reload()
        #expect(try metrics.expectCounter("kiln_model_loads_total", [("model", "m"), ("outcome", "failure")]).totalValue == 1)
        #expect(try state("2", "failed") == 1)
        try await eventually("version 3 to unload after its removal") { (try? state("3", "unloaded")) == 1 }
        #expect(try state("3", "ready") == 0)
        #expect(try state("1", "ready") == 1)
        // Once a version has left the store and is unloaded, its series are released.
        await server.reload()
        let versionsWithSeries = Set(metrics.meters(label: "kiln_version_state")
            .compactMap { meter in meter.dimensions.first { $0.0 == "version" }?.1 })
        #expect(versionsWithSeries == ["1", "2"])
        await server.shutdown()
        #expect(try state("1", "unloaded") == 1)
    }

    /// A request alone on a fast version runs on the caller's thread (no queue time); with direct
    /// runs turned off, every request is queued for a worker.
    @Test(arguments: [true, false])
    func loneRequestsRunDirectlyOnlyWhenAllowed(allowed: Bool) async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 1), model: "m")
        let metrics = TestMetrics()
        // A generous limit keeps the outcome independent of how fast this machine ran the warm-up.
        let server = makeServer(store, metrics: metrics, directRunLimit: allowed ? .seconds(10) : nil)
        await server.reload()
        for seed in 0..<20 {
            let x = try sampleInput(rows: 1, features: 4, seed: seed)
            let prediction = try await server.predict(model: "m", inputs: ["x": x])
            #expect(try prediction.outputs["y"]?.scalars(as: Float.self) == expectedOutput(x, version: 1))
        }
        let queueTimes = try metrics.expectTimer("kiln_queue_duration_seconds", [("model", "m"), ("version", "1")]).values
        #expect(queueTimes.count == 20)
        if allowed {
            #expect(queueTimes.allSatisfy { $0 == 0 }, "queue times: \(queueTimes)")
        } else {
            #expect(queueTimes.allSatisfy { $0 > 0 }, "queue times: \(queueTimes)")
        }
        await server.shutdown()
    }

    @Test func logsAreStructured() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 1), model: "m")
        let capture = LogCapture()
        let server = makeServer(store, logger: capture.logger())
        await server.reload()
        _ = try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: 0)])
        _ = try? await server.predict(model: "m", inputs: [:])
        await server.shutdown()

        let records = capture.all
        let ready = try #require(records.first { $0.message == "version ready" })
        #expect(ready.level == .info)
        #expect(ready.metadata["model"] == "m" && ready.metadata["version"] == "1" && ready.metadata["duration-ms"] != nil)
        let success = try #require(records.first { $0.message == "prediction" })
        #expect(success.level == .trace)
        #expect(success.metadata["outcome"] == "success" && success.metadata["request-id"] != nil
            && success.metadata["duration-us"] != nil && success.metadata["version"] == "1")
        let failure = try #require(records.first { $0.message == "prediction failed" })
        #expect(failure.level == .debug)
        #expect(failure.metadata["outcome"] == "invalid_input" && failure.metadata["error"]?.contains("missing input 'x'") == true)
        #expect(records.contains { $0.message == "version unloaded" && $0.metadata["model"] == "m" })
    }

    @Test func statusReportsVersionsStatesLabelsAndCounters() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 1), model: "m")
        try store.publish(TestModel(version: 2), model: "m")
        try store.setLabel("stable", model: "m", version: 1)
        try store.setConfiguration(ModelConfiguration(maxQueueSize: 77), model: "m")
        let server = makeServer(store)
        await server.reload()
        for seed in 0..<2 { _ = try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: seed)]) }
        _ = try await server.predict(model: "m", version: .label("stable"), inputs: ["x": sampleInput(rows: 1, features: 4, seed: 0)])

        let status = try #require(await server.status(model: "m"))
        #expect(status.model == "m")
        #expect(status.latest == 2)
        #expect(status.queueCapacity == 77 && status.queueDepth == 0)
        #expect(status.labels == [LabelStatus(label: "stable", target: 1, serving: 1)])
        #expect(status.versions.map(\.version) == [1, 2])
        #expect(status.versions.map(\.state) == [.ready, .ready])
        #expect(status.version(1)?.succeeded == 1 && status.version(2)?.succeeded == 2)
        #expect(status.version(2)?.inFlight == 0 && status.version(2)?.batches == 2)
        #expect(status.version(2)?.loadDuration != nil)
        #expect(await server.status().map(\.model) == ["m"])
        #expect(await server.status(model: "unknown") == nil)
        await server.shutdown()
        #expect(await server.status(model: "m")?.versions.map(\.state) == [.unloaded, .unloaded])
    }
}
