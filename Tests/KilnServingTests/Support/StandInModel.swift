import Foundation
import Kiln
import KilnServing
import Logging
import Metrics

/// A stand-in model file used until `.kiln` writing (`Model.write(to:)`) and reading
/// (`Model(contentsOf:)`) are on this branch: a small JSON description from which the loader builds a
/// graph, with a checksum the loader verifies, as the real reader verifies section checksums.
///
/// The graph is `y = Relu(x)`; unless `batched`, it also outputs `version = Identity(constant [v])`,
/// so every response says which version computed it.
struct StandInModel: Codable, Equatable {
    var version: Int
    /// Size of axis 1 of `x`; nil makes it a symbolic dim `n`, so requests may differ there.
    var features: Int?
    /// Axis 0 of `x` is the symbolic batch dim; no `version` output (it has no batch axis).
    var batched: Bool
    /// Axis 0 fixed to 1 (a model without a batch axis).
    var fixedBatch: Bool = false
    var checksum: Int

    init(version: Int, features: Int? = 4, batched: Bool = false, fixedBatch: Bool = false) {
        self.version = version
        self.features = features
        self.batched = batched
        self.fixedBatch = fixedBatch
        self.checksum = StandInModel.checksum(version: version, features: features)
    }

    static func checksum(version: Int, features: Int?) -> Int { version &* 7919 &+ (features ?? -1) }

    struct ChecksumMismatch: Error, CustomStringConvertible {
        let expected: Int
        let actual: Int
        var description: String { "checksum mismatch: file says \(expected), contents give \(actual)" }
    }

    static let loader = ModelLoader { url in
        let data = try Data(contentsOf: url)
        let spec = try JSONDecoder().decode(StandInModel.self, from: data)
        let actual = checksum(version: spec.version, features: spec.features)
        guard spec.checksum == actual else { throw ChecksumMismatch(expected: spec.checksum, actual: actual) }
        return try spec.makeModel()
    }

    func makeModel() throws -> Model {
        var builder = GraphBuilder(name: "stand-in-v\(version)")
        let batch: Dim = fixedBatch ? 1 : "batch"
        let feature: Dim = features.map { .fixed($0) } ?? "n"
        let x = builder.input("x", .float32, [batch, feature])
        builder.output(builder.node("Relu", [x]), as: "y")
        if !batched {
            let constant = builder.constant(try Tensor(shape: [1], scalars: [Float(version)]), name: "version_value")
            builder.output(builder.node("Identity", [constant]), as: "version")
        }
        return try Model(graph: builder.build())
    }

    func write(to url: URL) throws {
        try JSONEncoder().encode(self).write(to: url)
    }
}

extension ModelStore {
    /// Publishes a stand-in model as `version` (the spec's own version number).
    func publish(_ spec: StandInModel, model: String) throws {
        try publish(model: model, version: spec.version) { try spec.write(to: $0) }
    }
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
func eventually(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
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

/// What `Relu` must give, computed independently of Kiln.
func relu(_ tensor: Tensor) throws -> [Float] {
    try tensor.scalars(as: Float.self).map { max($0, 0) }
}

/// Builds servers for tests: no polling (tests call `reload()`), the stand-in loader, silent logs
/// unless a logger is given.
func makeServer(_ store: ModelStore, configuration modelConfiguration: ModelConfiguration = ModelConfiguration(),
                gate: WorkerGate? = nil, metrics: (any MetricsFactory)? = nil, logger: Logger? = nil,
                pollInterval: Duration? = nil) -> ModelServer {
    var configuration = ModelServer.Configuration(
        pollInterval: pollInterval, defaultModelConfiguration: modelConfiguration, loader: StandInModel.loader,
        metricsFactory: metrics)
    if let gate { configuration.hooks = gate.hooks }
    return ModelServer(store: store, configuration: configuration,
                       logger: logger ?? Logger(label: "kiln.serving.tests", factory: { _ in SwiftLogNoOpLogHandler() }))
}
