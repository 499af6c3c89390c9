import Foundation
import Kiln
import KilnServing
import Testing

@Suite struct BatchingTests {
    private func batchedStore(_ root: TemporaryRoot, features: Int? = nil, configuration: ModelConfiguration) throws -> ModelStore {
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 1, features: features), model: "m")
        try store.setConfiguration(configuration, model: "m")
        return store
    }

    /// Sends each input as its own request, concurrently, and returns the predictions in input order.
    private func predictAll(_ server: ModelServer, _ inputs: [Tensor]) async throws -> [Prediction] {
        try await withThrowingTaskGroup(of: (Int, Prediction).self) { group in
            for (index, input) in inputs.enumerated() {
                group.addTask { (index, try await server.predict(model: "m", inputs: ["x": input])) }
            }
            var results = [Prediction?](repeating: nil, count: inputs.count)
            for try await (index, prediction) in group { results[index] = prediction }
            return results.compactMap { $0 }
        }
    }

    @Test func stacksRequestsThatAgreeExceptOnTheBatchAxisAndSplitsResults() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try batchedStore(root, configuration: ModelConfiguration(
            instances: 1, batching: BatchingConfiguration(maxBatchSize: 8)))
        let gate = WorkerGate(open: false)
        let server = makeServer(store, gate: gate)
        await server.reload()

        // Hold the only worker on a first request so the others queue up behind it.
        let blocker = Task { try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: 0)]) }
        try await eventually("the worker to hold the first request") { gate.workersWaiting == 1 }
        let wide = try [1, 1, 2, 1, 1].enumerated().map { try sampleInput(rows: $0.element, features: 4, seed: $0.offset + 1) }
        let wideTask = Task { try await predictAll(server, wide) }
        try await eventually("5 requests to queue") { await server.status(model: "m")?.queueDepth == 5 }
        let narrow = try (0..<2).map { try sampleInput(rows: 1, features: 3, seed: 10 + $0) }
        let narrowTask = Task { try await predictAll(server, narrow) }
        try await eventually("7 requests to queue") { await server.status(model: "m")?.queueDepth == 7 }
        gate.open()

        _ = try await blocker.value
        for (input, prediction) in zip(wide + narrow, try await wideTask.value + narrowTask.value) {
            let y = try #require(prediction.outputs["y"])
            #expect(y.shape == input.shape)
            #expect(try y.scalars(as: Float.self) == expectedOutput(input, version: 1))
        }
        // The blocker alone, then the six rows with 4 features in one run, then the two with 3.
        #expect(gate.batchRows == [1, 6, 2])
        #expect(await server.status(model: "m")?.version(1)?.batches == 3)
        await server.shutdown()
    }

    @Test func neverExceedsTheMaximumBatchSize() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try batchedStore(root, features: 4, configuration: ModelConfiguration(
            instances: 1, batching: BatchingConfiguration(maxBatchSize: 4)))
        let gate = WorkerGate(open: false)
        let server = makeServer(store, gate: gate)
        await server.reload()
        let blocker = Task { try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: 0)]) }
        try await eventually("the worker to hold the first request") { gate.workersWaiting == 1 }
        let inputs = try (0..<10).map { try sampleInput(rows: 1, features: 4, seed: $0 + 1) }
        let task = Task { try await predictAll(server, inputs) }
        try await eventually("10 requests to queue") { await server.status(model: "m")?.queueDepth == 10 }
        gate.open()
        _ = try await blocker.value
        for (input, prediction) in zip(inputs, try await task.value) {
            #expect(try prediction.outputs["y"]?.scalars(as: Float.self) == expectedOutput(input, version: 1))
        }
        #expect(gate.batchRows == [1, 4, 4, 2])
        await server.shutdown()
    }

    @Test func preferredBatchSizeRunsWithoutWaitingOutTheDelay() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try batchedStore(root, features: 4, configuration: ModelConfiguration(
            instances: 1, batching: BatchingConfiguration(maxBatchSize: 8, maxQueueDelay: .seconds(30), preferredBatchSizes: [3])))
        let gate = WorkerGate()
        let server = makeServer(store, gate: gate)
        await server.reload()
        let started = ContinuousClock.now
        let inputs = try (0..<3).map { try sampleInput(rows: 1, features: 4, seed: $0) }
        _ = try await predictAll(server, inputs)
        #expect(ContinuousClock.now - started < .seconds(20), "three requests must not wait out the 30 s delay")
        #expect(gate.batchRows.suffix(1) == [3])
        await server.shutdown()
    }

    @Test func aLoneRequestWaitsAtMostTheQueueDelay() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try batchedStore(root, features: 4, configuration: ModelConfiguration(
            instances: 1, batching: BatchingConfiguration(maxBatchSize: 8, maxQueueDelay: .milliseconds(150))))
        let gate = WorkerGate()
        let server = makeServer(store, gate: gate)
        await server.reload()
        let warmupBatches = gate.batchRows.count
        let started = ContinuousClock.now
        let prediction = try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: 1)])
        let elapsed = ContinuousClock.now - started
        #expect(prediction.version == 1)
        #expect(elapsed >= .milliseconds(140), "the request ran before the batching delay: \(elapsed)")
        #expect(elapsed < .seconds(10))
        #expect(Array(gate.batchRows.dropFirst(warmupBatches)) == [1])
        await server.shutdown()
    }

    @Test func batchingIsOffForModelsWithoutABatchAxis() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 1, fixedBatch: true), model: "m")
        try store.setConfiguration(ModelConfiguration(instances: 1), model: "m")
        let gate = WorkerGate(open: false)
        let server = makeServer(store, gate: gate)
        await server.reload()
        let blocker = Task { try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: 0)]) }
        try await eventually("the worker to hold the first request") { gate.workersWaiting == 1 }
        let inputs = try (0..<4).map { try sampleInput(rows: 1, features: 4, seed: $0 + 1) }
        let task = Task { try await predictAll(server, inputs) }
        try await eventually("4 requests to queue") { await server.status(model: "m")?.queueDepth == 4 }
        gate.open()
        _ = try await blocker.value
        _ = try await task.value
        #expect(gate.batchRows == [1, 1, 1, 1, 1])
        await server.shutdown()
    }

    @Test func forcingBatchingOnAModelWithoutABatchAxisFailsTheVersion() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 1, fixedBatch: true), model: "m")
        try store.setConfiguration(ModelConfiguration(batching: BatchingConfiguration(enabled: true)), model: "m")
        let server = makeServer(store)
        await server.reload()
        guard case .failed(let reason)? = await server.status(model: "m")?.version(1)?.state else {
            Issue.record("the version must fail")
            return
        }
        #expect(reason.contains("no batch axis") && reason.contains("'x'"))
        await server.shutdown()
    }

    @Test func stackAndSplitAreInverse() throws {
        // Checked directly on the byte layout: rows of parts appear consecutively in the stack.
        let parts = try [
            Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6] as [Int32]),
            Tensor(shape: [0, 3], scalars: [] as [Int32]),
            Tensor(shape: [1, 3], scalars: [7, 8, 9] as [Int32]),
        ]
        let rows = parts.map { $0.shape[0] }
        let stacked = try TensorBatching.stack(parts)
        #expect(stacked.shape == [3, 3])
        #expect(try stacked.scalars(as: Int32.self) == [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let pieces = try TensorBatching.split(stacked, rows: rows)
        #expect(try pieces.map { try $0.scalars(as: Int32.self) } == [[1, 2, 3, 4, 5, 6], [], [7, 8, 9]])
        #expect(pieces.map(\.shape) == [[2, 3], [0, 3], [1, 3]])
        #expect(throws: (any Error).self) {
            try TensorBatching.stack([parts[0], Tensor(shape: [1, 2], scalars: [1, 2] as [Int32])])
        }
        #expect(throws: (any Error).self) { try TensorBatching.split(stacked, rows: [1, 1]) }
    }
}
