/// Errors from ``InferenceSession/run(_:)``. Input errors are raised before any kernel runs and name
/// the input and what was expected.
public enum SessionError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingInput(name: String, expected: TensorType)
    case unknownInput(name: String, known: [String])
    case dtypeMismatch(input: String, expected: DType, actual: DType)
    case rankMismatch(input: String, expected: [Dim], actual: [Int])
    case dimensionMismatch(input: String, axis: Int, expected: Int, actual: Int)
    /// A symbolic dim took different sizes in two places.
    case inconsistentSymbol(symbol: String, input: String, axis: Int, actual: Int,
                            boundBy: String, boundAxis: Int, boundSize: Int)
    /// A kernel failed on values that passed the type checks (e.g. a Reshape to an impossible shape).
    case kernelFailed(node: String, opType: String, reason: String)
    case unknownOutput(name: String, known: [String])

    public var description: String {
        switch self {
        case .missingInput(let name, let expected): return "missing input '\(name)' (expected \(expected))"
        case .unknownInput(let name, let known):
            return "unknown input '\(name)'; the model's inputs are \(known.map { "'\($0)'" }.joined(separator: ", "))"
        case .dtypeMismatch(let input, let expected, let actual):
            return "input '\(input)' has dtype \(actual), expected \(expected)"
        case .rankMismatch(let input, let expected, let actual):
            return "input '\(input)' has shape \(actual) (rank \(actual.count)), expected rank \(expected.count) \(expected.map(\.description))"
        case .dimensionMismatch(let input, let axis, let expected, let actual):
            return "input '\(input)' has size \(actual) on axis \(axis), expected \(expected)"
        case .inconsistentSymbol(let symbol, let input, let axis, let actual, let boundBy, let boundAxis, let boundSize):
            return "input '\(input)' has size \(actual) on axis \(axis) for dim '\(symbol)', but input '\(boundBy)' axis \(boundAxis) bound '\(symbol)' to \(boundSize)"
        case .kernelFailed(let node, let opType, let reason): return "node '\(node)' (\(opType)) failed: \(reason)"
        case .unknownOutput(let name, let known):
            return "unknown output '\(name)'; the model's outputs are \(known.map { "'\($0)'" }.joined(separator: ", "))"
        }
    }
}
