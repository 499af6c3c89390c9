/// One operation in a graph.
///
/// Inputs and outputs name graph values. An empty input name marks an omitted optional input
/// (ONNX convention), so positions of later inputs stay meaningful.
public struct Node: Sendable {
    /// Unique within the graph; used in every error about this node.
    public var name: String
    /// The operator, e.g. `Conv`, with ONNX semantics.
    public var opType: String
    /// Operator domain; "" is the default ONNX domain.
    public var domain: String
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [String: Attribute]

    public init(name: String, opType: String, domain: String = "", inputs: [String], outputs: [String],
                attributes: [String: Attribute] = [:]) {
        self.name = name
        self.opType = opType
        self.domain = domain
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }
}

/// A named, typed value at a graph boundary.
public struct ValueInfo: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var type: TensorType

    public init(name: String, type: TensorType) {
        self.name = name
        self.type = type
    }

    public init(_ name: String, _ dtype: DType, _ shape: [Dim]) {
        self.init(name: name, type: TensorType(dtype, shape))
    }

    public var description: String { "\(name): \(type)" }
}
