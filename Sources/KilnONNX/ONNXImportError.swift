import Kiln

/// Why an ONNX model could not be imported. Every case names the tensor, node, value or attribute at
/// fault, so the message alone tells a user what to fix or report.
public enum ONNXImportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The model file could not be read.
    case unreadableFile(path: String, reason: String)
    /// The bytes are not a well-formed ONNX protobuf message (truncated, corrupt, or not ONNX).
    case malformedModel(reason: String)
    /// The model has no graph.
    case missingGraph
    /// The model imports an opset of the default ONNX domain outside what Kiln understands.
    case unsupportedOpset(version: Int, supported: ClosedRange<Int>)
    /// Nodes of the default domain are present but the model declares no opset for it.
    case missingDefaultOpset
    /// An `opset_import` entry is invalid (listed twice, or a version below 1).
    case invalidOpsetImport(domain: String, reason: String)
    /// The graph uses operators Kiln does not implement; lists every one, with counts.
    case unsupportedOperators([UnsupportedOperator])
    /// A tensor or value has an element type Kiln does not support (e.g. `DOUBLE`, `STRING`).
    case unsupportedDataType(tensor: String, type: String)
    /// A tensor's dims, data type or data are inconsistent.
    case invalidTensor(name: String, reason: String)
    /// A tensor stored outside the model file could not be located or read safely.
    case invalidExternalData(tensor: String, reason: String)
    /// A graph input or output has a type Kiln cannot use.
    case invalidValueInfo(name: String, reason: String)
    /// A node is malformed (a bad `Constant`, duplicate or unnamed attributes, an empty op type...).
    case invalidNode(node: String, opType: String, reason: String)
    /// A node has an attribute of a kind Kiln does not support (subgraphs, sparse tensors, types).
    case unsupportedAttribute(node: String, attribute: String, kind: String)
    /// The model uses an ONNX feature Kiln does not support (sparse initializers, tensor segments...).
    case unsupportedFeature(String)
    /// The imported graph failed Kiln's validation or type inference.
    case invalidGraph(GraphError)
    /// Kiln rejected the imported graph for a reason outside ``GraphError``.
    case modelRejected(reason: String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason): return "cannot read '\(path)': \(reason)"
        case .malformedModel(let reason): return "not a valid ONNX model: \(reason)"
        case .missingGraph: return "the ONNX model has no graph"
        case .unsupportedOpset(let version, let supported):
            return "the model uses ONNX opset \(version); Kiln supports opsets \(supported.lowerBound) to \(supported.upperBound)"
        case .missingDefaultOpset: return "the model has ONNX operators but no opset_import for the default domain"
        case .invalidOpsetImport(let domain, let reason):
            return "opset_import for domain '\(domain.isEmpty ? "ai.onnx" : domain)': \(reason)"
        case .unsupportedOperators(let operators):
            let list = operators.map(\.description).joined(separator: "; ")
            let kinds = operators.count == 1 ? "1 operator type" : "\(operators.count) operator types"
            return "the model uses \(kinds) Kiln does not support: \(list)"
        case .unsupportedDataType(let tensor, let type):
            return "'\(tensor)' has element type \(type), which Kiln does not support"
        case .invalidTensor(let name, let reason): return "tensor '\(name)': \(reason)"
        case .invalidExternalData(let tensor, let reason): return "tensor '\(tensor)' (external data): \(reason)"
        case .invalidValueInfo(let name, let reason): return "value '\(name)': \(reason)"
        case .invalidNode(let node, let opType, let reason): return "node '\(node)' (\(opType)): \(reason)"
        case .unsupportedAttribute(let node, let attribute, let kind):
            return "node '\(node)': attribute '\(attribute)' is a \(kind), which Kiln does not support"
        case .unsupportedFeature(let feature): return "unsupported ONNX feature: \(feature)"
        case .invalidGraph(let error): return "the imported graph is invalid: \(error)"
        case .modelRejected(let reason): return "the imported graph is invalid: \(reason)"
        }
    }
}

/// One operator type a model uses that Kiln does not implement.
public struct UnsupportedOperator: Sendable, Equatable, CustomStringConvertible {
    /// The ONNX op type, e.g. `LSTM`.
    public var opType: String
    /// The operator domain; "" is the default ONNX domain.
    public var domain: String
    /// How many nodes use it.
    public var count: Int
    /// The name of the first node (in file order) that uses it.
    public var firstNode: String

    public init(opType: String, domain: String, count: Int, firstNode: String) {
        self.opType = opType
        self.domain = domain
        self.count = count
        self.firstNode = firstNode
    }

    public var description: String {
        let qualified = domain.isEmpty ? opType : "\(domain).\(opType)"
        return "\(qualified) (\(count) \(count == 1 ? "node" : "nodes"), first '\(firstNode)')"
    }
}
