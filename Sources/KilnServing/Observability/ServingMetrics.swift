import Metrics
import Synchronization

/// How a prediction ended, as the `outcome` dimension of `kiln_requests_total`.
enum RequestOutcome: String, CaseIterable, Sendable {
    case success
    case invalidInput = "invalid_input"
    case unknownModel = "unknown_model"
    case unknownVersion = "unknown_version"
    case unavailable
    case overloaded
    case deadlineExceeded = "deadline_exceeded"
    case cancelled
    case shuttingDown = "shutting_down"
    case failed

    init(_ error: ServingError) {
        switch error {
        case .unknownModel: self = .unknownModel
        case .unknownVersion, .unknownLabel: self = .unknownVersion
        case .versionUnavailable, .labelUnavailable, .noServingVersion: self = .unavailable
        case .invalidInput: self = .invalidInput
        case .overloaded: self = .overloaded
        case .deadlineExceeded: self = .deadlineExceeded
        case .cancelled: self = .cancelled
        case .shuttingDown: self = .shuttingDown
        case .inferenceFailed: self = .failed
        }
    }
}

/// Metric names, with the configurable prefix (`kiln` by default). Docs/SERVING.md lists them.
struct MetricNames: Sendable {
    let requests: String
    let requestDuration: String
    let queueDuration: String
    let computeDuration: String
    let batchSize: String
    let queueDepth: String
    let inFlight: String
    let loads: String
    let loadDuration: String
    let versionState: String

    init(prefix: String) {
        requests = prefix + "_requests_total"
        requestDuration = prefix + "_request_duration_seconds"
        queueDuration = prefix + "_queue_duration_seconds"
        computeDuration = prefix + "_compute_duration_seconds"
        batchSize = prefix + "_batch_size"
        queueDepth = prefix + "_queue_depth"
        inFlight = prefix + "_inflight_requests"
        loads = prefix + "_model_loads_total"
        loadDuration = prefix + "_model_load_duration_seconds"
        versionState = prefix + "_version_state"
    }
}

/// Metric handles of one model, created once so the request path only records.
final class ModelMetrics: Sendable {
    let names: MetricNames
    let factory: any MetricsFactory
    let model: String
    let queueDepth: Meter
    let inFlight: Meter
    let loadsSucceeded: Counter
    let loadsFailed: Counter
    let loadDuration: Timer
    /// Requests that failed before a version was chosen (dimension version="none").
    private let unresolved: [RequestOutcome: Counter]

    init(model: String, names: MetricNames, factory: any MetricsFactory) {
        self.names = names
        self.factory = factory
        self.model = model
        queueDepth = Meter(label: names.queueDepth, dimensions: [("model", model)], factory: factory)
        inFlight = Meter(label: names.inFlight, dimensions: [("model", model)], factory: factory)
        loadsSucceeded = Counter(label: names.loads, dimensions: [("model", model), ("outcome", "success")], factory: factory)
        loadsFailed = Counter(label: names.loads, dimensions: [("model", model), ("outcome", "failure")], factory: factory)
        loadDuration = Timer(label: names.loadDuration, dimensions: [("model", model)], factory: factory)
        var unresolved: [RequestOutcome: Counter] = [:]
        for outcome in [RequestOutcome.unknownVersion, .unavailable, .shuttingDown, .cancelled, .deadlineExceeded] {
            unresolved[outcome] = Counter(
                label: names.requests, dimensions: [("model", model), ("version", "none"), ("outcome", outcome.rawValue)],
                factory: factory)
        }
        self.unresolved = unresolved
    }

    func recordUnresolved(_ outcome: RequestOutcome) {
        if let counter = unresolved[outcome] {
            counter.increment()
        } else {
            Counter(label: names.requests, dimensions: [("model", model), ("version", "none"), ("outcome", outcome.rawValue)],
                    factory: factory).increment()
        }
    }

    func versionMetrics(version: Int) -> VersionMetrics {
        VersionMetrics(model: model, version: version, names: names, factory: factory)
    }
}

/// Metric handles of one version of a model.
final class VersionMetrics: Sendable {
    private let requests: [RequestOutcome: Counter]
    let requestDuration: Timer
    let queueDuration: Timer
    let computeDuration: Timer
    let batchSize: Recorder
    private let states: [String: Meter]
    private let currentState = Mutex<String?>(nil)

    init(model: String, version: Int, names: MetricNames, factory: any MetricsFactory) {
        let dimensions = [("model", model), ("version", String(version))]
        var requests: [RequestOutcome: Counter] = [:]
        for outcome in RequestOutcome.allCases where outcome != .unknownModel {
            requests[outcome] = Counter(label: names.requests, dimensions: dimensions + [("outcome", outcome.rawValue)],
                                        factory: factory)
        }
        self.requests = requests
        requestDuration = Timer(label: names.requestDuration, dimensions: dimensions, factory: factory)
        queueDuration = Timer(label: names.queueDuration, dimensions: dimensions, factory: factory)
        computeDuration = Timer(label: names.computeDuration, dimensions: dimensions, factory: factory)
        batchSize = Recorder(label: names.batchSize, dimensions: dimensions, factory: factory)
        var states: [String: Meter] = [:]
        for state in ["loading", "warming", "ready", "draining", "unloaded", "failed"] {
            states[state] = Meter(label: names.versionState, dimensions: dimensions + [("state", state)], factory: factory)
        }
        self.states = states
    }

    func record(_ outcome: RequestOutcome) {
        requests[outcome]?.increment()
    }

    /// Tells the backend these series will not change again (the version left the store), so a
    /// long-running server does not keep series for every version it ever served.
    func destroy() {
        for counter in requests.values { counter.destroy() }
        for meter in states.values { meter.destroy() }
        requestDuration.destroy()
        queueDuration.destroy()
        computeDuration.destroy()
        batchSize.destroy()
    }

    /// Sets the gauge of the new state to 1 and of the previous one to 0.
    func recordState(_ state: VersionState) {
        let previous = currentState.withLock { current -> String? in
            defer { current = state.name }
            return current
        }
        if let previous, previous != state.name { states[previous]?.set(0) }
        states[state.name]?.set(1)
    }
}

extension Duration {
    /// Whole nanoseconds, for swift-metrics timers.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
