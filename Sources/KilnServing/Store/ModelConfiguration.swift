import Kiln

/// How a ``ModelServer`` serves one model: the contents of `ROOT/<model>/config.json`.
///
/// Every key is optional; see Docs/SERVING.md for the keys and their defaults. Unknown keys are an
/// error, so a misspelt option is reported rather than ignored.
public struct ModelConfiguration: Sendable, Equatable {
    /// Which versions are loaded and served. Default: the newest one.
    public var versionPolicy: VersionPolicy
    /// Sessions per loaded version that run requests concurrently; nil (the default) means one per
    /// core. Instances share the model's (memory-mapped) weights.
    public var instances: Int?
    /// Threads each session may use inside one operator; nil means cores / instances (1 by default).
    public var threadsPerInstance: Int?
    /// Requests of this model that may wait for a session, over all its versions. Past it, a
    /// prediction fails at once with ``ServingError/overloaded(model:queueCapacity:)``. Default 1024.
    public var maxQueueSize: Int
    /// Dynamic batching; on by default when the model has a batch axis.
    public var batching: BatchingConfiguration
    /// Input shapes (zeros) to warm a new version up with before it takes traffic, each run twice on
    /// every instance; nil derives them from the model's declared inputs: symbolic dims = 1, plus the
    /// same at the maximum batch size when batching.
    public var warmup: [[String: [Int]]]?
    /// Descriptions of the inputs; when given, a version whose inputs differ fails to load.
    public var inputs: [TensorDescription]
    /// Descriptions of the outputs; when given, a version whose outputs differ fails to load.
    public var outputs: [TensorDescription]

    public init(versionPolicy: VersionPolicy = .default, instances: Int? = nil, threadsPerInstance: Int? = nil,
                maxQueueSize: Int = 1024, batching: BatchingConfiguration = BatchingConfiguration(),
                warmup: [[String: [Int]]]? = nil, inputs: [TensorDescription] = [],
                outputs: [TensorDescription] = []) {
        self.versionPolicy = versionPolicy
        self.instances = instances
        self.threadsPerInstance = threadsPerInstance
        self.maxQueueSize = maxQueueSize
        self.batching = batching
        self.warmup = warmup
        self.inputs = inputs
        self.outputs = outputs
    }

    /// Checks value ranges.
    /// - Throws: ``ModelStoreError/invalidConfiguration(model:reason:)`` naming the bad key.
    public func validate(model: String) throws(ModelStoreError) {
        func fail(_ reason: String) -> ModelStoreError { .invalidConfiguration(model: model, reason: reason) }
        if let instances, !(1...256).contains(instances) {
            throw fail("instances must be 1...256, not \(instances)")
        }
        if let threadsPerInstance, !(1...1024).contains(threadsPerInstance) {
            throw fail("threadsPerInstance must be 1...1024, not \(threadsPerInstance)")
        }
        guard maxQueueSize >= 1 else { throw fail("maxQueueSize must be at least 1, not \(maxQueueSize)") }
        switch versionPolicy {
        case .latest(let count) where count < 1: throw fail("versionPolicy latest must be at least 1, not \(count)")
        case .specific(let versions) where versions.contains(where: { $0 < 1 }):
            throw fail("versionPolicy specific lists a version below 1: \(versions)")
        default: break
        }
        guard batching.maxBatchSize >= 1 else {
            throw fail("batching.maxBatchSize must be at least 1, not \(batching.maxBatchSize)")
        }
        guard batching.maxQueueDelay >= .zero else { throw fail("batching.maxQueueDelayMicroseconds must not be negative") }
        if let bad = batching.preferredBatchSizes.first(where: { !(1...batching.maxBatchSize).contains($0) }) {
            throw fail("batching.preferredBatchSizes holds \(bad), outside 1...maxBatchSize (\(batching.maxBatchSize))")
        }
        for (index, sample) in (warmup ?? []).enumerated() {
            for (name, shape) in sample where shape.contains(where: { $0 < 0 }) {
                throw fail("warmup[\(index)] gives input '\(name)' a negative dim: \(shape)")
            }
        }
    }
}

/// Dynamic batching: requests whose inputs agree except on the batch axis (axis 0) are stacked, run
/// once, and the outputs split back.
public struct BatchingConfiguration: Sendable, Equatable {
    /// true or false forces batching on or off; nil (the default) turns it on exactly when every
    /// input and output of the model has the same symbolic dim on axis 0.
    public var enabled: Bool?
    /// Most rows (summed over requests) in one run. Default 32.
    public var maxBatchSize: Int
    /// How long the oldest queued request may wait for a batch to fill. Default zero: a free session
    /// takes whatever is queued, so batches form only under load and idle latency is unchanged.
    public var maxQueueDelay: Duration
    /// Batch sizes worth running at once, without waiting out ``maxQueueDelay``. Default none.
    public var preferredBatchSizes: [Int]

    public init(enabled: Bool? = nil, maxBatchSize: Int = 32, maxQueueDelay: Duration = .zero,
                preferredBatchSizes: [Int] = []) {
        self.enabled = enabled
        self.maxBatchSize = maxBatchSize
        self.maxQueueDelay = maxQueueDelay
        self.preferredBatchSizes = preferredBatchSizes
    }
}

/// Describes one model input or output in `config.json`.
public struct TensorDescription: Sendable, Equatable, Codable {
    public var name: String
    public var dtype: DType
    /// Dims: integers, or strings for symbolic dims such as `"batch"`; nil when unknown.
    public var shape: [Dim]?
    /// Free text for the people who call the model.
    public var description: String?

    public init(name: String, dtype: DType, shape: [Dim]?, description: String? = nil) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.description = description
    }

    private enum Keys: String, CodingKey, CaseIterable { case name, dtype, shape, description }

    public init(from decoder: any Decoder) throws {
        try decoder.container(keyedBy: AnyCodingKey.self)
            .rejectUnknownKeys(Set(Keys.allCases.map(\.rawValue)), codingPath: decoder.codingPath)
        let container = try decoder.container(keyedBy: Keys.self)
        name = try container.decode(String.self, forKey: .name)
        let dtypeName = try container.decode(String.self, forKey: .dtype)
        guard let dtype = DType(name: dtypeName) else {
            throw DecodingError.dataCorruptedError(
                forKey: .dtype, in: container,
                debugDescription: "unknown dtype '\(dtypeName)'; use one of \(DType.allCases.map(\.description).joined(separator: ", "))")
        }
        self.dtype = dtype
        shape = try container.decodeIfPresent([DimCoding].self, forKey: .shape)?.map(\.dim)
        description = try container.decodeIfPresent(String.self, forKey: .description)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(name, forKey: .name)
        try container.encode(dtype.description, forKey: .dtype)
        try container.encodeIfPresent(shape?.map(DimCoding.init), forKey: .shape)
        try container.encodeIfPresent(description, forKey: .description)
    }
}

/// A dim in JSON: an integer size or a symbol name.
private struct DimCoding: Codable {
    let dim: Dim
    init(_ dim: Dim) { self.dim = dim }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let size = try? container.decode(Int.self) {
            guard size >= 0 else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "dims are >= 0 or a symbol name, not \(size)")
            }
            dim = .fixed(size)
        } else {
            dim = .symbolic(try container.decode(String.self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch dim {
        case .fixed(let size): try container.encode(size)
        case .symbolic(let name): try container.encode(name)
        }
    }
}

extension ModelConfiguration: Codable {
    private enum Keys: String, CodingKey, CaseIterable {
        case versionPolicy, instances, threadsPerInstance, maxQueueSize, batching, warmup, inputs, outputs
    }

    public init(from decoder: any Decoder) throws {
        try decoder.container(keyedBy: AnyCodingKey.self)
            .rejectUnknownKeys(Set(Keys.allCases.map(\.rawValue)), codingPath: decoder.codingPath)
        let container = try decoder.container(keyedBy: Keys.self)
        let defaults = ModelConfiguration()
        self.init(
            versionPolicy: try container.decodeIfPresent(VersionPolicy.self, forKey: .versionPolicy) ?? defaults.versionPolicy,
            instances: try container.decodeIfPresent(Int.self, forKey: .instances),
            threadsPerInstance: try container.decodeIfPresent(Int.self, forKey: .threadsPerInstance),
            maxQueueSize: try container.decodeIfPresent(Int.self, forKey: .maxQueueSize) ?? defaults.maxQueueSize,
            batching: try container.decodeIfPresent(BatchingConfiguration.self, forKey: .batching) ?? defaults.batching,
            warmup: try container.decodeIfPresent([[String: [Int]]].self, forKey: .warmup),
            inputs: try container.decodeIfPresent([TensorDescription].self, forKey: .inputs) ?? [],
            outputs: try container.decodeIfPresent([TensorDescription].self, forKey: .outputs) ?? [])
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(versionPolicy, forKey: .versionPolicy)
        try container.encodeIfPresent(instances, forKey: .instances)
        try container.encodeIfPresent(threadsPerInstance, forKey: .threadsPerInstance)
        try container.encode(maxQueueSize, forKey: .maxQueueSize)
        try container.encode(batching, forKey: .batching)
        try container.encodeIfPresent(warmup, forKey: .warmup)
        if !inputs.isEmpty { try container.encode(inputs, forKey: .inputs) }
        if !outputs.isEmpty { try container.encode(outputs, forKey: .outputs) }
    }
}

extension BatchingConfiguration: Codable {
    private enum Keys: String, CodingKey, CaseIterable {
        case enabled, maxBatchSize, maxQueueDelayMicroseconds, preferredBatchSizes
    }

    public init(from decoder: any Decoder) throws {
        try decoder.container(keyedBy: AnyCodingKey.self)
            .rejectUnknownKeys(Set(Keys.allCases.map(\.rawValue)), codingPath: decoder.codingPath)
        let container = try decoder.container(keyedBy: Keys.self)
        let defaults = BatchingConfiguration()
        let delay = try container.decodeIfPresent(Int64.self, forKey: .maxQueueDelayMicroseconds)
        self.init(
            enabled: try container.decodeIfPresent(Bool.self, forKey: .enabled),
            maxBatchSize: try container.decodeIfPresent(Int.self, forKey: .maxBatchSize) ?? defaults.maxBatchSize,
            maxQueueDelay: delay.map { .microseconds($0) } ?? defaults.maxQueueDelay,
            preferredBatchSizes: try container.decodeIfPresent([Int].self, forKey: .preferredBatchSizes) ?? [])
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encodeIfPresent(enabled, forKey: .enabled)
        try container.encode(maxBatchSize, forKey: .maxBatchSize)
        let (seconds, attoseconds) = maxQueueDelay.components
        try container.encode(seconds * 1_000_000 + attoseconds / 1_000_000_000_000, forKey: .maxQueueDelayMicroseconds)
        try container.encode(preferredBatchSizes, forKey: .preferredBatchSizes)
    }
}
