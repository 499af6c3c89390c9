/// Errors from ``ModelStore``. Each names the model, version, label or path that was wrong.
public enum ModelStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Model names are 1-128 characters of `A-Z a-z 0-9 . _ -`, not starting with `.` or `-`.
    case invalidModelName(String)
    /// Versions are positive integers.
    case invalidVersion(model: String, version: Int)
    /// Label names follow the same rules as model names.
    case invalidLabelName(String)
    case unknownModel(String)
    case unknownVersion(model: String, version: Int, available: [Int])
    case unknownLabel(model: String, label: String, known: [String])
    /// Published versions are immutable: publish a new version number instead.
    case versionExists(model: String, version: Int)
    /// ``ModelStore/rollback(label:model:)`` found no earlier version in the label's history.
    case noPreviousVersion(model: String, label: String)
    /// The version a rollback would return to was removed from the store.
    case previousVersionRemoved(model: String, label: String, version: Int)
    /// Labels point at the version; move or remove them first.
    case versionIsLabelled(model: String, version: Int, labels: [String])
    /// A file the store keeps (`labels.json`, `config.json`) could not be parsed.
    case corruptFile(path: String, reason: String)
    /// `config.json` parsed but holds a value out of range or an unknown key.
    case invalidConfiguration(model: String, reason: String)
    /// A file-system call failed.
    case io(operation: String, path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidModelName(let name):
            return "invalid model name '\(name)': use 1-128 characters of A-Z a-z 0-9 . _ -, not starting with '.' or '-'"
        case .invalidVersion(let model, let version):
            return "invalid version \(version) for model '\(model)': versions are positive integers"
        case .invalidLabelName(let name):
            return "invalid label name '\(name)': use 1-128 characters of A-Z a-z 0-9 . _ -, not starting with '.' or '-'"
        case .unknownModel(let name): return "unknown model '\(name)'"
        case .unknownVersion(let model, let version, let available):
            return "model '\(model)' has no version \(version); available: \(available.map(String.init).joined(separator: ", "))"
        case .unknownLabel(let model, let label, let known):
            return "model '\(model)' has no label '\(label)'; labels: \(known.joined(separator: ", "))"
        case .versionExists(let model, let version):
            return "model '\(model)' version \(version) already exists; published versions are immutable"
        case .noPreviousVersion(let model, let label):
            return "label '\(label)' of model '\(model)' has no earlier version to roll back to"
        case .previousVersionRemoved(let model, let label, let version):
            return "label '\(label)' of model '\(model)' would roll back to version \(version), which was removed"
        case .versionIsLabelled(let model, let version, let labels):
            return "model '\(model)' version \(version) is labelled \(labels.joined(separator: ", ")); move the labels first"
        case .corruptFile(let path, let reason): return "cannot parse \(path): \(reason)"
        case .invalidConfiguration(let model, let reason): return "invalid config.json for model '\(model)': \(reason)"
        case .io(let operation, let path, let reason): return "\(operation) \(path) failed: \(reason)"
        }
    }
}
