import Foundation
import Kiln
import KilnServing
import Metrics
import MetricsTestKit
import Testing

@Suite struct BackPressureTests {
    private let unbatched = ModelConfiguration(instances: 1, maxQueueSize: 4, batching: BatchingConfiguration(enabled: false))

    private func setUp(_ root: TemporaryRoot, configuration: ModelConfiguration, metrics: TestMetrics? = nil)
        async throws -> (ModelServer, WorkerGate)
    {
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 1), model: "m")
        try store.setConfiguration(configuration, model: "m")
        let gate = WorkerGate(open: false)
        let server = makeServer(store, gate: gate, metrics: metrics)
        await server.reload()
        return (server, gate)
    }

    /// A queue of capacity N under a burst of 10N: the excess fails at once with `overloaded` while
    /// the worker is still held, the accepted requests all succeed, and the queue never grows past N.
    @Test func burstBeyondTheQueueFailsFastAndAcceptedRequestsSucceed() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let metrics = TestMetrics()
        let capacity = 4
        let (server, gate) = try await setUp(root, configuration: unbatched, metrics: metrics)
        let blocker = Task { try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: 0)]) }
        try await eventually("the worker to hold the first request") { gate.workersWaiting == 1 }

        let burst = (0..<(10 * capacity)).map { index in
            Task { () -> Result<Prediction, any Error> in
                do {
                    return .success(try await server.predict(
                        model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: index + 1)]))
                } catch {
                    return .failure(error)
                }
            }
        }
        // The refusals arrive while the worker is still held: nobody waits for capacity.
        try await eventually("the excess to be refused") {
            await server.status(model: "m")?.version(1)?.rejected == 9 * capacity
        }
        #expect(gate.workersWaiting == 1)
        #expect(await server.status(model: "m")?.queueDepth == capacity)
        gate.open()

        var succeeded = 0
        var overloaded = 0
        for task in burst {
            switch await task.value {
            case .success(let prediction):
                #expect(prediction.version == 1)
                succeeded += 1
            case .failure(let error):
                #expect(error as? ServingError == .overloaded(model: "m", queueCapacity: capacity))
                overloaded += 1
            }
        }
        _ = try await blocker.value
        #expect(succeeded == capacity)
        #expect(overloaded == 9 * capacity)

        let depths = try metrics.expectMeter("kiln_queue_depth", [("model", "m")]).values
        #expect(depths.max() == Double(capacity), "queue depth gauge: \(depths)")
        #expect(try metrics.expectCounter("kiln_requests_total", [("model", "m"), ("version", "1"), ("outcome", "overloaded")])
            .totalValue == Int64(9 * capacity))
        #expect(try metrics.expectCounter("kiln_requests_total", [("model", "m"), ("version", "1"), ("outcome", "success")])
            .totalValue == Int64(capacity + 1))
        await server.shutdown()
    }

    @Test func deadlineRemovesAQueuedRequestBeforeItRuns() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let metrics = TestMetrics()
        let (server, gate) = try await setUp(root, configuration: unbatched, metrics: metrics)
        let blocker = Task { try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: 0)]) }
        try await eventually("the worker to hold the first request") { gate.workersWaiting == 1 }

        let started = ContinuousClock.now
        await #expect(throws: ServingError.deadlineExceeded(model: "m")) {
            try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: 1)],
                                     deadline: .now + .milliseconds(80))
        }
        #expect(ContinuousClock.now - started >= .milliseconds(75))
        #expect(gate.workersWaiting == 1, "the deadline must fire while the request is still queued")
        #expect(await server.status(model: "m")?.queueDepth == 0)
        // A deadline already in the past is refused without queueing.
        await #expect(throws: ServingError.deadlineExceeded(model: "m")) {
            try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: 2)],
                                     deadline: .now - .milliseconds(1))
        }
        gate.open()
        _ = try await blocker.value
        #expect(gate.batchRows == [1], "the expired request must never run")
        #expect(try metrics.expectCounter("kiln_requests_total", [("model", "m"), ("version", "1"), ("outcome", "deadline_exceeded")])
            .totalValue == 2)
        await server.shutdown()
    }

    @Test func cancellationRemovesAQueuedRequestBeforeItRuns() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let metrics = TestMetrics()
        let (server, gate) = try await setUp(root, configuration: unbatched, metrics: metrics)
        let blocker = Task { try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: 0)]) }
        try await eventually("the worker to hold the first request") { gate.workersWaiting == 1 }

        let cancelled = Task { try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: 1)]) }
        try await eventually("the request to queue") { await server.status(model: "m")?.queueDepth == 1 }
        cancelled.cancel()
        await #expect(throws: ServingError.cancelled(model: "m")) { try await cancelled.value }
        #expect(await server.status(model: "m")?.queueDepth == 0)
        gate.open()
        _ = try await blocker.value
        #expect(gate.batchRows == [1], "the cancelled request must never run")
        #expect(try metrics.expectCounter("kiln_requests_total", [("model", "m"), ("version", "1"), ("outcome", "cancelled")])
            .totalValue == 1)
        await server.shutdown()
    }

    @Test func severalInstancesRunConcurrently() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        var configuration = unbatched
        configuration.instances = 3
        let (server, gate) = try await setUp(root, configuration: configuration)
        let requests = (0..<3).map { index in
            Task { try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: index)]) }
        }
        // All three are inside a session run at the same moment.
        try await eventually("three workers to run at once") { gate.workersWaiting == 3 }
        gate.open()
        for request in requests { #expect(try await request.value.version == 1) }
        await server.shutdown()
    }
}
