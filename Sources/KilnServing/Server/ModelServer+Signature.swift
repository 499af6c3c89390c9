import Kiln

/// The inputs and outputs of the version that answers a selector: what a network front end needs to
/// describe a model (e.g. the Open Inference Protocol's model metadata).
public struct ModelSignature: Sendable, Hashable {
    /// The model's name.
    public var model: String
    /// The version that would answer the selector now.
    public var version: Int
    /// The version's declared inputs, in graph order.
    public var inputs: [ValueInfo]
    /// The version's declared outputs, in graph order.
    public var outputs: [ValueInfo]

    public init(model: String, version: Int, inputs: [ValueInfo], outputs: [ValueInfo]) {
        self.model = model
        self.version = version
        self.inputs = inputs
        self.outputs = outputs
    }
}

extension ModelServer {
    /// The signature of the version that answers `selector` now, resolved exactly as
    /// ``predict(model:version:inputs:deadline:)`` resolves it (so it also tells whether the model
    /// is ready for that selector). Like a prediction, a call before the first look at the store waits
    /// for it.
    /// - Throws: ``ServingError`` for an unknown model, version or label, or one not serving.
    public func signature(model name: String, version selector: VersionSelector = .latest) async throws(ServingError)
        -> ModelSignature
    {
        if !firstReloadFinished.hasFired { await awaitFirstReload() }
        guard lifecycle.withLock({ $0.accepting }) else { throw .shuttingDown }
        guard let served = models.withLock({ $0[name] }) else {
            throw .unknownModel(name, known: models.withLock { $0.keys.sorted() })
        }
        let loaded = try served.resolve(selector)
        return ModelSignature(model: name, version: loaded.version, inputs: loaded.inputs,
                              outputs: loaded.sessions[0].outputs)
    }

    /// False once shutdown has begun: the server takes no new requests.
    public var isAcceptingRequests: Bool { lifecycle.withLock { $0.accepting } }

    /// True once the server has looked at the store at least once (by ``run()``, ``reload()`` or a
    /// first request), so that ``status()`` reflects the store.
    public var hasLoadedStore: Bool { firstReloadFinished.hasFired }
}
