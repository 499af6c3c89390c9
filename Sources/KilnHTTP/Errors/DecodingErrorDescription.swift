/// One-line messages for JSON that does not fit the protocol's shapes, naming where it went wrong
/// (e.g. `inputs[0].shape`), without Foundation's debug text.
enum DecodingErrorDescription {
    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return "the request body is not valid JSON"
        case .dataCorrupted(let context):
            return "invalid value at '\(path(context.codingPath))'"
        case .keyNotFound(let key, let context):
            let parent = path(context.codingPath)
            return "missing key '\(key.stringValue)'\(parent.isEmpty ? "" : " in '\(parent)'")"
        case .typeMismatch(let type, let context):
            return "'\(path(context.codingPath))' has the wrong type (expected \(kind(type)))"
        case .valueNotFound(let type, let context):
            return "'\(path(context.codingPath))' is null (expected \(kind(type)))"
        @unknown default:
            return "the request body does not match the inference request format"
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text.isEmpty ? "request" : text
    }

    private static func kind(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type, is Double.Type, is Float.Type: return "a number"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "an object"
        }
    }
}
