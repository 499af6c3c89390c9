// Serving overhead, batching throughput and publish-to-first-response for the MLP fixture
// (784-128-64-10, Fixtures/mlp/model.kiln). Usage: ServingBenchmark [seconds-per-throughput-run]
import Foundation
import Kiln
import KilnServing
import Logging
import Synchronization

let fixture = URL(filePath: #filePath).deletingLastPathComponent().appending(path: "../../../../Fixtures/mlp/model.kiln")
    .standardizedFileURL
let throughputSeconds = CommandLine.arguments.dropFirst().compactMap(Double.init).first ?? 3
let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
let cores = ProcessInfo.processInfo.activeProcessorCount

func input(rows: Int, seed: Int) throws -> Tensor {
    try Tensor(shape: [rows, 784], scalars: (0..<(rows * 784)).map { Float(($0 * 31 + seed * 17) % 97) / 97 - 0.5 })
}

func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

func describe(_ label: String, _ samples: [Double]) -> Double {
    let sorted = samples.sorted()
    let p50 = percentile(sorted, 0.5)
    print(String(format: "%@: p50 %.1f us, p90 %.1f us, p99 %.1f us (%d runs)", label, p50,
                 percentile(sorted, 0.9), percentile(sorted, 0.99), sorted.count))
    return p50
}

func makeStore(_ configuration: ModelConfiguration) throws -> (ModelStore, URL) {
    let root = FileManager.default.temporaryDirectory.appending(path: "kiln-bench-\(UUID().uuidString)")
    let store = try ModelStore(root: root)
    try store.publish(fixture, model: "mlp", version: 1)
    try store.setConfiguration(configuration, model: "mlp")
    return (store, root)
}

print("MLP fixture: \(fixture.path(percentEncoded: false)); \(cores) cores")

// 1. Overhead per request, one caller, batch 1, one session thread.
let iterations = 20_000
let x = try input(rows: 1, seed: 1)
let session = try InferenceSession(model: Model(contentsOf: fixture), options: .init(threads: 1))
for _ in 0..<2_000 { _ = try session.run(["x": x]) }
var direct: [Double] = []
direct.reserveCapacity(iterations)
for _ in 0..<iterations {
    let started = ContinuousClock.now
    _ = try session.run(["x": x])
    direct.append(microseconds(ContinuousClock.now - started))
}
_ = describe("direct InferenceSession.run, b1", direct)
for threads in [1, 2] {
    let batchSession = try InferenceSession(model: Model(contentsOf: fixture), options: .init(threads: threads))
    let x32 = try input(rows: 32, seed: 3)
    for _ in 0..<200 { _ = try batchSession.run(["x": x32]) }
    var times: [Double] = []
    for _ in 0..<2_000 {
        let started = ContinuousClock.now
        _ = try batchSession.run(["x": x32])
        times.append(microseconds(ContinuousClock.now - started))
    }
    _ = describe("direct InferenceSession.run, b32, \(threads) thread(s)", times)
}
_ = try InferenceSession(model: Model(contentsOf: fixture), options: .init(threads: 1))  // OpenBLAS back to 1 thread

// Direct and served calls alternate, so both see the same machine load.
// Both run in a detached task, off the main actor, as a server's request handlers do: awaiting from
// top-level code would add two thread hops (main actor -> global executor -> main actor) per call.
try await Task.detached {
    for (name, directRunLimit) in [("direct runs allowed (default)", Duration?.some(.microseconds(500))), ("every request through the worker threads", nil)] {
        let (store, root) = try makeStore(ModelConfiguration(instances: 1, threadsPerInstance: 1))
        let server = ModelServer(store: store, configuration: .init(pollInterval: nil, directRunLimit: directRunLimit), logger: quiet)
        await server.reload()
        for _ in 0..<2_000 { _ = try await server.predict(model: "mlp", inputs: ["x": x]) }
        var served: [Double] = []
        var alongside: [Double] = []
        served.reserveCapacity(iterations)
        for _ in 0..<iterations {
            var started = ContinuousClock.now
            _ = try session.run(["x": x])
            alongside.append(microseconds(ContinuousClock.now - started))
            started = ContinuousClock.now
            _ = try await server.predict(model: "mlp", inputs: ["x": x])
            served.append(microseconds(ContinuousClock.now - started))
        }
        let directP50 = describe("InferenceSession.run, b1, alternating", alongside)
        let servedP50 = describe("ModelServer.predict, b1, \(name)", served)
        print(String(format: "  serving overhead at p50: %.1f us", servedP50 - directP50))
        await server.shutdown()
        try? FileManager.default.removeItem(at: root)
    }
}.value

if CommandLine.arguments.contains("--overhead-only") { exit(0) }

// 2. Throughput at 64 concurrent callers, batching on vs off.
final class Counter: Sendable {
    let count = Atomic<Int>(0)
    let stop = Atomic<Bool>(false)
}

func throughput(_ configuration: ModelConfiguration, callers: Int) async throws -> Double {
    let (store, root) = try makeStore(configuration)
    defer { try? FileManager.default.removeItem(at: root) }
    let server = ModelServer(store: store, configuration: .init(pollInterval: nil), logger: quiet)
    await server.reload()
    let counter = Counter()
    let inputs = try (0..<callers).map { try input(rows: 1, seed: $0) }
    let started = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for caller in 0..<callers {
            group.addTask {
                while !counter.stop.load(ordering: .relaxed) {
                    _ = try await server.predict(model: "mlp", inputs: ["x": inputs[caller]])
                    counter.count.add(1, ordering: .relaxed)
                }
            }
        }
        try await Task.sleep(for: .seconds(throughputSeconds))
        counter.stop.store(true, ordering: .relaxed)
        try await group.waitForAll()
    }
    let elapsed = ContinuousClock.now - started
    let batches = await server.status(model: "mlp")?.version(1)?.batches ?? 0
    await server.shutdown()
    let rate = Double(counter.count.load(ordering: .relaxed)) / (microseconds(elapsed) / 1e6)
    print(String(format: "  %.0f requests/s, %.1f requests per run", rate,
                 Double(counter.count.load(ordering: .relaxed)) / Double(max(batches, 1))))
    return rate
}

for (instances, threads) in [(1, 1), (1, cores), (cores, 1)] {
    print("64 callers, \(instances) instance(s) x \(threads) thread(s):")
    print(" batching off")
    let off = try await throughput(ModelConfiguration(instances: instances, threadsPerInstance: threads,
                                                      batching: BatchingConfiguration(enabled: false)), callers: 64)
    print(" batching on (max 32, no delay)")
    let on = try await throughput(ModelConfiguration(instances: instances, threadsPerInstance: threads,
                                                     batching: BatchingConfiguration(maxBatchSize: 32)), callers: 64)
    print(String(format: "  batching speed-up: %.2fx", on / off))
}

// 3. Publish to first response from the new version (explicit reload, then with 100 ms polling).
do {
    let (store, root) = try makeStore(ModelConfiguration())
    defer { try? FileManager.default.removeItem(at: root) }
    let server = ModelServer(store: store, configuration: .init(pollInterval: nil), logger: quiet)
    await server.reload()
    var samples: [Double] = []
    for version in 2...21 {
        let started = ContinuousClock.now
        try store.publish(fixture, model: "mlp", version: version)
        await server.reload()
        let prediction = try await server.predict(model: "mlp", inputs: ["x": x])
        precondition(prediction.version == version)
        samples.append(microseconds(ContinuousClock.now - started) / 1000)
    }
    let sorted = samples.sorted()
    print(String(format: "publish -> reload -> first response from the new version: median %.2f ms, max %.2f ms (20 swaps)",
                 percentile(sorted, 0.5), sorted.last!))
    await server.shutdown()
}
do {
    let (store, root) = try makeStore(ModelConfiguration())
    defer { try? FileManager.default.removeItem(at: root) }
    let server = ModelServer(store: store, configuration: .init(pollInterval: .milliseconds(100)), logger: quiet)
    let running = Task { try await server.run() }
    _ = try await server.predict(model: "mlp", inputs: ["x": x])
    var samples: [Double] = []
    for version in 2...11 {
        let started = ContinuousClock.now
        try store.publish(fixture, model: "mlp", version: version)
        while try await server.predict(model: "mlp", inputs: ["x": x]).version != version {
            try await Task.sleep(for: .milliseconds(1))
        }
        samples.append(microseconds(ContinuousClock.now - started) / 1000)
    }
    let sorted = samples.sorted()
    print(String(format: "publish -> first response by polling every 100 ms: median %.1f ms, max %.1f ms (10 swaps)",
                 percentile(sorted, 0.5), sorted.last!))
    await server.shutdown()
    try await running.value
}
