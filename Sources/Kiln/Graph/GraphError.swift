/// Structural and typing errors in a graph. Each case names the node or value at fault.
public enum GraphError: Error, Sendable, Equatable, CustomStringConvertible {
    case duplicateValue(name: String)
    case undefinedValue(name: String, usedBy: String)
    case undefinedOutput(name: String)
    case duplicateNodeName(name: String)
    case cycle(involving: String)
    case unsupportedOperator(opType: String, domain: String, node: String)
    /// An operator rejected its attributes, input count or input types.
    case invalidNode(node: String, opType: String, reason: String)
    case emptyName(what: String)

    public var description: String {
        switch self {
        case .duplicateValue(let name): return "value '\(name)' is produced more than once"
        case .undefinedValue(let name, let usedBy): return "node '\(usedBy)' uses value '\(name)', which nothing produces"
        case .undefinedOutput(let name): return "graph output '\(name)' is not produced by any node, input or initializer"
        case .duplicateNodeName(let name): return "node name '\(name)' is used more than once"
        case .cycle(let name): return "the graph has a cycle through node '\(name)'"
        case .unsupportedOperator(let opType, let domain, let node):
            return "node '\(node)': operator '\(domain.isEmpty ? "" : domain + ".")\(opType)' is not supported"
        case .invalidNode(let node, let opType, let reason): return "node '\(node)' (\(opType)): \(reason)"
        case .emptyName(let what): return "\(what) has an empty name"
        }
    }
}
