import Kiln

/// Which version of a model a prediction asks for.
public enum VersionSelector: Sendable, Hashable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    /// The highest-numbered ready version among those the model's version policy selects.
    case latest
    /// Exactly this version number.
    case specific(Int)
    /// The version a label (such as `stable`) points at in the store, once that version is ready;
    /// until then the label keeps serving the version it pointed at before.
    case label(String)

    /// `version: 3` means `.specific(3)`.
    public init(integerLiteral value: Int) { self = .specific(value) }

    public var description: String {
        switch self {
        case .latest: return "latest"
        case .specific(let version): return "\(version)"
        case .label(let label): return "label '\(label)'"
        }
    }
}

/// The answer to a prediction: the outputs and the version that computed them.
public struct Prediction: Sendable {
    /// The model's name.
    public var model: String
    /// The version that produced ``outputs``.
    public var version: Int
    /// Every output of the model, by name.
    public var outputs: [String: Tensor]

    public init(model: String, version: Int, outputs: [String: Tensor]) {
        self.model = model
        self.version = version
        self.outputs = outputs
    }
}
