import Foundation
import Kiln
import Metrics

/// Turns a version's file into a ``Model``. The server calls it on a background thread.
public struct ModelLoader: Sendable {
    /// Loads the model at the URL; throws when the file is missing, malformed or fails its checksums.
    public let load: @Sendable (URL) throws -> Model

    /// Wraps a loading function.
    public init(_ load: @escaping @Sendable (URL) throws -> Model) {
        self.load = load
    }

    /// Reads `.kiln` files with `Model(contentsOf:)`: memory-mapped, every section checksum
    /// verified, the graph validated and type-checked; a bad file throws `FormatError` or `GraphError`.
    public static let kilnFile = ModelLoader { url in try Model(contentsOf: url) }
}

extension ModelServer {
    /// Settings of a ``ModelServer`` as a whole; per-model settings live in each model's `config.json`.
    public struct Configuration: Sendable {
        /// How often the store is checked for new, removed or relabelled versions; nil disables
        /// polling (call ``ModelServer/reload()``). Default one second.
        public var pollInterval: Duration?
        /// Used for models that have no `config.json`.
        public var defaultModelConfiguration: ModelConfiguration
        /// Reads a version's file. Default ``ModelLoader/kilnFile``.
        public var loader: ModelLoader
        /// Where metrics go; nil uses whatever the application bootstrapped `MetricsSystem` with
        /// (this library never bootstraps it).
        public var metricsFactory: (any MetricsFactory)?
        /// Prefix of every metric name. Default `kiln`.
        public var metricsPrefix: String
        /// A version whose batch-1 warm-up run took at most this long runs a request directly on the
        /// caller's thread when it is the version's only request in flight and an instance is idle,
        /// which saves two thread hand-offs (most of the serving overhead for small models). Under
        /// concurrent load requests go through the queue, where batches form; longer runs always go
        /// to the version's worker threads, so they never hold up Swift's cooperative thread pool.
        /// nil sends every request to the workers. Default 500 microseconds.
        public var directRunLimit: Duration?
        /// Test-only interception points.
        package var hooks = ServerHooks()

        public init(pollInterval: Duration? = .seconds(1),
                    defaultModelConfiguration: ModelConfiguration = ModelConfiguration(),
                    loader: ModelLoader = .kilnFile, metricsFactory: (any MetricsFactory)? = nil,
                    metricsPrefix: String = "kiln", directRunLimit: Duration? = .microseconds(500)) {
            self.pollInterval = pollInterval
            self.defaultModelConfiguration = defaultModelConfiguration
            self.loader = loader
            self.metricsFactory = metricsFactory
            self.metricsPrefix = metricsPrefix
            self.directRunLimit = directRunLimit
        }
    }
}
