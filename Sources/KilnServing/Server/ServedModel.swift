import Kiln
import Synchronization

/// The bounded queue budget of one model, shared by all its versions.
final class ModelQueue: Sendable {
    private let depth = Atomic<Int>(0)
    private let capacityValue: Atomic<Int>
    private let metrics: ModelMetrics

    init(capacity: Int, metrics: ModelMetrics) {
        capacityValue = Atomic(capacity)
        self.metrics = metrics
    }

    var capacity: Int {
        get { capacityValue.load(ordering: .relaxed) }
        set { capacityValue.store(newValue, ordering: .relaxed) }
    }

    var current: Int { depth.load(ordering: .relaxed) }

    /// Claims a place in the queue; false when it is full.
    func reserve() -> Bool {
        let limit = capacity
        var observed = depth.load(ordering: .relaxed)
        while true {
            guard observed < limit else { return false }
            let (exchanged, original) = depth.weakCompareExchange(
                expected: observed, desired: observed + 1, ordering: .acquiringAndReleasing)
            if exchanged {
                metrics.queueDepth.set(original + 1)
                return true
            }
            observed = original
        }
    }

    /// Gives back `count` places (requests taken by a worker, removed, or never queued).
    func release(_ count: Int) {
        let remaining = depth.subtract(count, ordering: .acquiringAndReleasing).newValue
        metrics.queueDepth.set(remaining)
    }
}

/// What the server knows about one version of a model.
struct VersionEntry: Sendable {
    var state: VersionState
    var loaded: LoadedVersion?
    let counters: VersionCounters
    let metrics: VersionMetrics
    /// For a failed version: the file that failed, so an unchanged file is not retried on every poll.
    var failedFile: FileIdentity?
    var loadDuration: Duration?
}

/// Where requests for a model go. Replaced as a whole when traffic moves, so a request sees either
/// the old routes or the new ones.
struct Routing: Sendable {
    var latest: LoadedVersion?
    /// Every version that takes requests, by number.
    var versions: [Int: LoadedVersion] = [:]
    /// The version answering each label.
    var labels: [String: LoadedVersion] = [:]
    /// Labels as the store has them, for error messages and status.
    var storeLabels: [String: Int] = [:]
    /// Why `.latest` has no version, when it has none.
    var latestUnavailableReason = "no version has been loaded yet"
}

/// The mutable state of a served model, guarded by ``ServedModel/state``.
struct ModelState: Sendable {
    var routing = Routing()
    var entries: [Int: VersionEntry] = [:]
    /// The last configuration that parsed; versions load with it.
    var configuration: ModelConfiguration?
    var configurationError: String?
}

/// One model the server serves: its queue budget, metrics and versions.
final class ServedModel: Sendable {
    let name: String
    let queue: ModelQueue
    let metrics: ModelMetrics
    let state: Mutex<ModelState>

    init(name: String, capacity: Int, metrics: ModelMetrics) {
        self.name = name
        self.metrics = metrics
        self.queue = ModelQueue(capacity: capacity, metrics: metrics)
        self.state = Mutex(ModelState())
    }

    /// Picks the version that serves `selector`.
    func resolve(_ selector: VersionSelector) throws(ServingError) -> LoadedVersion {
        try state.withLock { (state: inout ModelState) throws(ServingError) -> LoadedVersion in
            let routing = state.routing
            switch selector {
            case .latest:
                guard let latest = routing.latest else {
                    throw .noServingVersion(model: name, reason: routing.latestUnavailableReason)
                }
                return latest
            case .specific(let version):
                if let loaded = routing.versions[version] { return loaded }
                if let entry = state.entries[version], entry.state != .unloaded {
                    throw .versionUnavailable(model: name, version: version, state: entry.state)
                }
                throw .unknownVersion(model: name, version: version, serving: routing.versions.keys.sorted())
            case .label(let label):
                if let loaded = routing.labels[label] { return loaded }
                if let target = routing.storeLabels[label] {
                    throw .labelUnavailable(model: name, label: label, version: target, state: state.entries[target]?.state)
                }
                throw .unknownLabel(model: name, label: label, known: routing.storeLabels.keys.sorted())
            }
        }
    }

    func status() -> ModelStatus {
        state.withLock { state in
            let versions = state.entries.sorted { $0.key < $1.key }.map { version, entry -> VersionStatus in
                VersionStatus(
                    version: version, state: entry.state,
                    succeeded: entry.counters.succeeded.load(ordering: .relaxed),
                    failed: entry.counters.failed.load(ordering: .relaxed),
                    rejected: entry.counters.rejected.load(ordering: .relaxed),
                    queued: entry.loaded?.scheduler.queuedCount ?? 0,
                    inFlight: entry.counters.inFlight.load(ordering: .relaxed),
                    batches: entry.counters.batches.load(ordering: .relaxed),
                    loadDuration: entry.loadDuration)
            }
            let labels = state.routing.storeLabels.sorted { $0.key < $1.key }.map { label, target in
                LabelStatus(label: label, target: target, serving: state.routing.labels[label]?.version)
            }
            return ModelStatus(model: name, versions: versions, labels: labels, latest: state.routing.latest?.version,
                               queueDepth: queue.current, queueCapacity: queue.capacity,
                               configurationError: state.configurationError)
        }
    }
}
