/// Where a version is in its life inside a ``ModelServer``.
public enum VersionState: Sendable, Hashable, CustomStringConvertible {
    /// Reading the file, verifying its checksums and compiling sessions.
    case loading
    /// Running warm-up inputs through every session; takes no traffic yet.
    case warming
    /// Taking traffic.
    case ready
    /// No longer routed to; finishing its queued and in-flight requests.
    case draining
    /// Drained and released.
    case unloaded
    /// Could not be loaded or warmed up; traffic stayed on the versions that were serving.
    case failed(reason: String)

    /// A short name for metrics and logs: `loading`, `warming`, `ready`, `draining`, `unloaded`, `failed`.
    public var name: String {
        switch self {
        case .loading: return "loading"
        case .warming: return "warming"
        case .ready: return "ready"
        case .draining: return "draining"
        case .unloaded: return "unloaded"
        case .failed: return "failed"
        }
    }

    public var description: String {
        if case .failed(let reason) = self { return "failed: \(reason)" }
        return name
    }
}

/// One version of a model as the server sees it.
public struct VersionStatus: Sendable, Hashable {
    public var version: Int
    public var state: VersionState
    /// Requests that returned outputs.
    public var succeeded: Int
    /// Requests accepted for this version that failed (inference errors, deadlines, cancellations).
    public var failed: Int
    /// Requests refused because the queue was full.
    public var rejected: Int
    /// Requests waiting for a session right now.
    public var queued: Int
    /// Requests accepted and not yet answered (queued or running).
    public var inFlight: Int
    /// Session runs, each serving one or more requests.
    public var batches: Int
    /// Time from the start of loading until the version was ready (or failed).
    public var loadDuration: Duration?
}

/// A label of a model: where it points in the store, and which version answers for it.
public struct LabelStatus: Sendable, Hashable {
    public var label: String
    /// The version the label points at in the store.
    public var target: Int
    /// The version serving `.label(label)` requests: `target` once it is ready, otherwise the version
    /// the label served before; nil when none is.
    public var serving: Int?

    public init(label: String, target: Int, serving: Int?) {
        self.label = label
        self.target = target
        self.serving = serving
    }
}

/// A served model: its versions, labels and queue.
public struct ModelStatus: Sendable, Hashable {
    public var model: String
    /// Every version the server has loaded, is loading, or refused, ascending.
    public var versions: [VersionStatus]
    public var labels: [LabelStatus]
    /// The version answering `.latest`, if any.
    public var latest: Int?
    /// Requests of this model waiting for a session, over all versions.
    public var queueDepth: Int
    /// The model's queue capacity (`maxQueueSize`).
    public var queueCapacity: Int
    /// Why the model's `config.json` cannot be used, when it cannot; new versions are not loaded
    /// until it is fixed.
    public var configurationError: String?

    /// The status of one version, if the server knows it.
    public func version(_ number: Int) -> VersionStatus? { versions.first { $0.version == number } }
}
