import Foundation
import Kiln
import KilnServing
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

@Suite struct LifecycleTests {
    /// Graceful shutdown stops intake, finishes the queued and running requests, then `run()` returns.
    @Test func gracefulShutdownFinishesAcceptedRequests() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 1), model: "m")
        try store.setConfiguration(ModelConfiguration(instances: 1, batching: BatchingConfiguration(enabled: false)), model: "m")
        let gate = WorkerGate(open: false)
        let server = makeServer(store, gate: gate, pollInterval: .milliseconds(20))

        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.run() }
                try await eventually("the first load") { await server.status(model: "m")?.latest == 1 }
                let accepted = (0..<4).map { seed in
                    Task { try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: seed)]) }
                }
                try await eventually("one running and three queued") {
                    let depth = await server.status(model: "m")?.queueDepth
                    return gate.workersWaiting == 1 && depth == 3
                }
                trigger.triggerGracefulShutdown()
                try await eventually("intake to stop") {
                    do {
                        _ = try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: 9)],
                                                     deadline: .now + .milliseconds(5))
                        return false
                    } catch ServingError.shuttingDown {
                        return true
                    } catch {
                        return false
                    }
                }
                gate.open()
                for request in accepted { #expect(try await request.value.version == 1) }
                try await group.waitForAll()
            }
        }
        #expect(gate.batchRows.count == 4)
        #expect(await server.status(model: "m")?.versions.map(\.state) == [.unloaded])
    }

    @Test func runsInAServiceGroupAndPicksUpNewVersionsByPolling() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 1), model: "m")
        let server = makeServer(store, pollInterval: .milliseconds(10))
        let group = ServiceGroup(configuration: .init(
            services: [server], logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let x = try sampleInput(rows: 1, features: 4, seed: 0)
            #expect(try await server.predict(model: "m", inputs: ["x": x]).version == 1)
            try store.publish(TestModel(version: 2), model: "m")
            try await eventually("polling to find version 2") {
                try await server.predict(model: "m", inputs: ["x": x]).version == 2
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(await server.status(model: "m")?.versions.allSatisfy { $0.state == .unloaded } == true)
    }

    @Test func cancellingRunAlsoDrains() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url)
        try store.publish(TestModel(version: 1), model: "m")
        let server = makeServer(store, pollInterval: .milliseconds(10))
        let running = Task { try await server.run() }
        try await eventually("the first load") { await server.status(model: "m")?.latest == 1 }
        running.cancel()
        try await running.value
        await #expect(throws: ServingError.shuttingDown) {
            try await server.predict(model: "m", inputs: ["x": sampleInput(rows: 1, features: 4, seed: 0)])
        }
        #expect(await server.status(model: "m")?.versions.map(\.state) == [.unloaded])
    }

    /// The usage snippet from the issue and Docs/SERVING.md, compiled as written. It is not called:
    /// the paths are an administrator's, not a test's; the test below runs the same steps.
    func documentedSnippet(logger: Logger, x: Tensor) async throws {
        let store = try ModelStore(root: URL(filePath: "/srv/models"))
        try store.publish(URL(filePath: "mlp-v2.kiln"), model: "mlp", version: 2)
        try store.setLabel("stable", model: "mlp", version: 2)
        let server = ModelServer(store: store, configuration: .init(), logger: logger)
        // run it in a ServiceGroup, or: Task { try await server.run() }
        // (The snippet says 50 ms; the test allows more so a loaded CI machine cannot fail it.)
        let result = try await server.predict(model: "mlp", version: .label("stable"),
                                              inputs: ["x": x], deadline: .now + .seconds(30))
        print(result.version, result.outputs["logits"]!)
        try store.rollback(label: "stable", model: "mlp")   // the label returns to the version it held before
        let status = await server.status(model: "mlp")     // versions, states, labels, counters
        _ = status
    }

    @Test func documentedStepsWork() async throws {
        let root = try TemporaryRoot()
        defer { root.cleanUp() }
        let store = try ModelStore(root: root.url.appending(path: "models"))
        let file = root.url.appending(path: "m-v1.kiln")
        try TestModel(version: 1).write(to: file)
        try store.publish(file, model: "mlp", version: 1)
        try store.setLabel("stable", model: "mlp", version: 1)
        try TestModel(version: 2).write(to: file)
        try store.publish(file, model: "mlp", version: 2)
        try store.setLabel("stable", model: "mlp", version: 2)
        let server = makeServer(store, pollInterval: .milliseconds(10))
        let running = Task { try await server.run() }
        let x = try sampleInput(rows: 1, features: 4, seed: 0)
        let result = try await server.predict(model: "mlp", version: .label("stable"), inputs: ["x": x],
                                              deadline: .now + .seconds(5))
        #expect(result.version == 2)
        try store.rollback(label: "stable", model: "mlp")
        try await eventually("the label to move back") {
            try await server.predict(model: "mlp", version: .label("stable"), inputs: ["x": x]).version == 1
        }
        let status = try #require(await server.status(model: "mlp"))
        #expect(status.labels == [LabelStatus(label: "stable", target: 1, serving: 1)])
        await server.shutdown()
        try await running.value
    }
}
