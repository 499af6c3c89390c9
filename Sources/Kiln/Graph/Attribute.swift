/// A node attribute value (the ONNX attribute kinds Kiln supports).
public enum Attribute: Sendable, CustomStringConvertible {
    case int(Int)
    case float(Float)
    case string(String)
    case tensor(Tensor)
    case ints([Int])
    case floats([Float])
    case strings([String])

    public var description: String {
        switch self {
        case .int(let value): return String(value)
        case .float(let value): return String(value)
        case .string(let value): return "\"\(value)\""
        case .tensor(let value): return value.description
        case .ints(let values): return "\(values)"
        case .floats(let values): return "\(values)"
        case .strings(let values): return "\(values)"
        }
    }
}
