import Kiln

/// The batching rules a loaded version runs with; built from ``BatchingConfiguration`` once the
/// model is known to have a batch axis.
struct BatchPolicy: Sendable, Equatable {
    /// The symbolic dim on axis 0 of every input and output.
    let symbol: String
    let maxBatchSize: Int
    let maxQueueDelay: Duration
    let preferredBatchSizes: Set<Int>

    /// Why a model cannot be batched, or nil when it can.
    struct Unsupported: Error, CustomStringConvertible {
        let description: String
    }

    /// The symbol every input and output has on axis 0, or why there is none.
    static func batchAxis(of model: Model) -> Result<String, Unsupported> {
        var symbol: String?
        let values = model.inputs.map { ("input", $0) } + model.outputs.map { ("output", $0) }
        for (kind, info) in values {
            guard let shape = info.type.shape, let first = shape.first else {
                return .failure(Unsupported(description: "\(kind) '\(info.name)' has no known axis 0 (\(info.type))"))
            }
            guard case .symbolic(let name) = first else {
                return .failure(Unsupported(description: "\(kind) '\(info.name)' has the fixed size \(first) on axis 0 (\(info.type))"))
            }
            if let symbol, symbol != name {
                return .failure(Unsupported(
                    description: "\(kind) '\(info.name)' has '\(name)' on axis 0 where other values have '\(symbol)'"))
            }
            symbol = name
        }
        guard let symbol, !model.inputs.isEmpty else {
            return .failure(Unsupported(description: "the model has no inputs"))
        }
        return .success(symbol)
    }

    /// The policy for `model` under `configuration`: nil when batching is off.
    /// - Throws: ``Unsupported`` when the configuration turns batching on for a model without a batch axis.
    static func make(for model: Model, configuration: BatchingConfiguration) throws(Unsupported) -> BatchPolicy? {
        if configuration.enabled == false { return nil }
        switch batchAxis(of: model) {
        case .success(let symbol):
            return BatchPolicy(symbol: symbol, maxBatchSize: configuration.maxBatchSize,
                               maxQueueDelay: configuration.maxQueueDelay,
                               preferredBatchSizes: Set(configuration.preferredBatchSizes))
        case .failure(let reason):
            if configuration.enabled == true {
                throw Unsupported(description: "batching.enabled is true but the model has no batch axis: \(reason)")
            }
            return nil
        }
    }
}

/// Requests batch together only when their inputs have equal sizes on every axis but axis 0.
struct ShapeSignature: Hashable, Sendable {
    /// For each declared input in order: its rank, then its dims after axis 0.
    private let dims: [Int]

    /// The signature of inputs that passed ``InputValidation`` against `declared`.
    init(_ inputs: [String: Tensor], declared: [ValueInfo]) {
        var dims: [Int] = []
        for info in declared {
            guard let shape = inputs[info.name]?.shape else { continue }
            dims.append(shape.count)
            dims.append(contentsOf: shape.dropFirst())
        }
        self.dims = dims
    }

    /// The signature shared by every request of a version that does not batch.
    static let unbatched = ShapeSignature(dims: [])
    private init(dims: [Int]) { self.dims = dims }
}
