import Foundation
import Kiln
import KilnServing
import Logging
import Metrics

/// Test models, written as real `.kiln` files: `y = Relu(x) * version`, so every output shows
/// which version computed it (see ``expectedOutput(_:version:)``).
struct TestModel {
    var version: Int
    /// Size of axis 1 of `x`; nil makes it a symbolic dim `n`, so requests may differ there.
    var features: Int? = 4
    /// Axis 0 fixed to 1: a model without a batch axis.
    var fixedBatch = false

    func makeModel() throws -> Model {
        var builder = GraphBuilder(name: "test-v\(version)")
        let batch: Dim = fixedBatch ? 1 : "batch"
        let feature: Dim = features.map { .fixed($0) } ?? "n"
        let x = builder.input("x", .float32, [batch, feature])
        let scale = builder.constant(try Tensor(shape: [1], scalars: [Float(version)]), name: "scale")
        builder.output(builder.node("Mul", [builder.node("Relu", [x]), scale]), as: "y")
        return try Model(graph: builder.build())
    }

    func write(to url: URL) throws {
        try makeModel().write(to: url)
    }

    func serialized() throws -> [UInt8] {
        try makeModel().serialized()
    }
}

extension ModelStore {
    /// Publishes a test model as its own version number.
    func publish(_ testModel: TestModel, model: String) throws {
        try publish(model: model, version: testModel.version) { try testModel.write(to: $0) }
    }
}

/// What `y` must be for `x` under `version`, computed independently of Kiln.
func expectedOutput(_ x: Tensor, version: Int) throws -> [Float] {
    try x.scalars(as: Float.self).map { max($0, 0) * Float(version) }
}

/// A fresh store root under the temporary directory, deleted by `cleanUp()`.
struct TemporaryRoot {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appending(path: "kiln-serving-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// Blocks serving workers inside `ServerHooks.beforeBatch` while closed, and records every batch.
final class WorkerGate: @unchecked Sendable {
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var isOpen: Bool
    private var waiting = 0
    private var rows: [Int] = []

    init(open: Bool = true) { isOpen = open }

    var hooks: ServerHooks {
        ServerHooks(beforeBatch: { [self] _, _, rows in pass(rows: rows) })
    }

    private func pass(rows batchRows: Int) {
        condition.lock()
        rows.append(batchRows)
        waiting += 1
        condition.broadcast()
        while !isOpen { condition.wait() }
        waiting -= 1
        condition.unlock()
    }

    func close() {
        condition.lock()
        isOpen = false
        condition.unlock()
    }

    func open() {
        condition.lock()
        isOpen = true
        condition.broadcast()
        condition.unlock()
    }

    /// Rows of every batch that reached a worker, in order.
    var batchRows: [Int] {
        condition.lock()
        defer { condition.unlock() }
        return rows
    }

    var workersWaiting: Int {
        condition.lock()
        defer { condition.unlock() }
        return waiting
    }
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Polls `condition` every millisecond until it holds; throws after `timeout`.
func eventually(_ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(1))
    }
}

/// `[rows, features]` of distinct values, half negative, so Relu's effect is visible per element.
func sampleInput(rows: Int, features: Int, seed: Int) throws -> Tensor {
    let values = (0..<(rows * features)).map { index -> Float in
        let value = Float((index * 7 + seed * 13) % 23) - 11
        return value + Float(seed) / 1000
    }
    return try Tensor(shape: [rows, features], scalars: values)
}


/// Builds servers for tests: no polling unless asked (tests call `reload()`), silent logs unless a
/// logger is given.
func makeServer(_ store: ModelStore, configuration modelConfiguration: ModelConfiguration = ModelConfiguration(),
                gate: WorkerGate? = nil, metrics: (any MetricsFactory)? = nil, logger: Logger? = nil,
                pollInterval: Duration? = nil, directRunLimit: Duration? = .microseconds(500)) -> ModelServer {
    var configuration = ModelServer.Configuration(
        pollInterval: pollInterval, defaultModelConfiguration: modelConfiguration, metricsFactory: metrics,
        directRunLimit: directRunLimit)
    if let gate { configuration.hooks = gate.hooks }
    return ModelServer(store: store, configuration: configuration,
                       logger: logger ?? Logger(label: "kiln.serving.tests", factory: { _ in SwiftLogNoOpLogHandler() }))
}
