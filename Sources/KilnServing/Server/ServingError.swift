import Kiln

/// Why a prediction failed. Every case names the model (and version, label or input) concerned.
public enum ServingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No model of this name is being served.
    case unknownModel(String, known: [String])
    /// The model has no such version loaded; `serving` lists the versions that are.
    case unknownVersion(model: String, version: Int, serving: [Int])
    /// The model has no such label.
    case unknownLabel(model: String, label: String, known: [String])
    /// The version exists but is not taking requests (loading, warming, draining, unloaded or failed).
    case versionUnavailable(model: String, version: Int, state: VersionState)
    /// The label points at a version that is not ready and no earlier version of it is serving.
    case labelUnavailable(model: String, label: String, version: Int, state: VersionState?)
    /// The model has no version ready for `.latest`, e.g. every published version failed to load.
    case noServingVersion(model: String, reason: String)
    /// The inputs do not match what the version declares.
    case invalidInput(model: String, version: Int, SessionError)
    /// The model's queue is full; the request was not accepted. Retry later or elsewhere.
    case overloaded(model: String, queueCapacity: Int)
    /// The deadline passed before the request could run; it was removed from the queue.
    case deadlineExceeded(model: String)
    /// The calling task was cancelled before the request could run; it was removed from the queue.
    case cancelled(model: String)
    /// The server is shutting down and accepts no new requests.
    case shuttingDown
    /// The model ran and failed on these inputs.
    case inferenceFailed(model: String, version: Int, reason: String)

    public var description: String {
        switch self {
        case .unknownModel(let name, let known):
            return "unknown model '\(name)'; serving: \(known.isEmpty ? "none" : known.joined(separator: ", "))"
        case .unknownVersion(let model, let version, let serving):
            return "model '\(model)' has no version \(version) loaded; serving versions: \(serving.isEmpty ? "none" : serving.map(String.init).joined(separator: ", "))"
        case .unknownLabel(let model, let label, let known):
            return "model '\(model)' has no label '\(label)'; labels: \(known.isEmpty ? "none" : known.joined(separator: ", "))"
        case .versionUnavailable(let model, let version, let state):
            return "model '\(model)' version \(version) is not serving: \(state)"
        case .labelUnavailable(let model, let label, let version, let state):
            return "label '\(label)' of model '\(model)' points at version \(version), which is not serving (\(state.map { "\($0)" } ?? "not loaded"))"
        case .noServingVersion(let model, let reason):
            return "model '\(model)' has no version serving: \(reason)"
        case .invalidInput(let model, let version, let error):
            return "model '\(model)' version \(version): \(error)"
        case .overloaded(let model, let capacity):
            return "model '\(model)' is overloaded: its queue of \(capacity) requests is full"
        case .deadlineExceeded(let model):
            return "the deadline passed before model '\(model)' could run the request"
        case .cancelled(let model):
            return "the request to model '\(model)' was cancelled before it ran"
        case .shuttingDown:
            return "the server is shutting down"
        case .inferenceFailed(let model, let version, let reason):
            return "model '\(model)' version \(version) failed: \(reason)"
        }
    }
}
