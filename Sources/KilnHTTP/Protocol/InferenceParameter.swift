/// A value of an Open Inference Protocol `parameters` object: a boolean, a number or a string.
public enum InferenceParameter: Sendable, Hashable, Codable {
    case bool(Bool)
    /// A whole JSON number.
    case int(Int64)
    /// A JSON number with a fraction or exponent.
    case double(Double)
    case string(String)

    /// Reads a boolean, then a whole number, then any number, then a string.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "a parameter must be a boolean, a number or a string")
        }
    }

    /// Writes the value as the JSON scalar it holds.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        }
    }

    /// The value as a whole number, when it is one (`3` or `3.0`).
    var integerValue: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value): return Int64(exactly: value)
        default: return nil
        }
    }

    var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }
}

/// A `parameters` object.
public typealias InferenceParameters = [String: InferenceParameter]
