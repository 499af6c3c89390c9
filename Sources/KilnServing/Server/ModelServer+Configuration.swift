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

    /// Reads `.kiln` files: memory-mapped, every section checksum verified before the model is used.
    public static let kilnFile = ModelLoader { url in try loadKilnFile(at: url) }
}

// FORMAT SEAM — the single place the server reads `.kiln` files. Until the format branch (which adds
// `Model(contentsOf:)`) is merged, it reports that the reader is missing; then it becomes
// `try Model(contentsOf: url)`.
func loadKilnFile(at url: URL) throws -> Model {
    throw KilnReaderUnavailable(path: url.path(percentEncoded: false))
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
        /// Test-only interception points.
        package var hooks = ServerHooks()

        public init(pollInterval: Duration? = .seconds(1),
                    defaultModelConfiguration: ModelConfiguration = ModelConfiguration(),
                    loader: ModelLoader = .kilnFile, metricsFactory: (any MetricsFactory)? = nil,
                    metricsPrefix: String = "kiln") {
            self.pollInterval = pollInterval
            self.defaultModelConfiguration = defaultModelConfiguration
            self.loader = loader
            self.metricsFactory = metricsFactory
            self.metricsPrefix = metricsPrefix
        }
    }
}
