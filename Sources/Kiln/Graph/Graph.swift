/// A computation: named inputs, constant initializers, nodes and named outputs.
///
/// Values are referred to by name. A graph is a plain value: build it with ``GraphBuilder`` or load it
/// from a `.kiln` file through ``Model``; ``validate()`` checks its structure and
/// ``inferTypes()`` computes the type of every value.
public struct Graph: Sendable {
    public var name: String
    /// Values the caller provides at run time.
    public var inputs: [ValueInfo]
    /// Values returned by a run.
    public var outputs: [ValueInfo]
    /// Constant tensors (weights), by value name.
    public var initializers: [String: Tensor]
    /// Nodes; ``validate()`` does not require them to be in topological order.
    public var nodes: [Node]
    /// Opset version per operator domain ("" = default ONNX domain); selects operator semantics.
    public var opsetImports: [String: Int]
    /// Known types of intermediate values, filled by ``inferTypes()``.
    public var valueTypes: [String: TensorType]

    /// The ONNX opset Kiln's operator semantics follow when a graph does not say.
    public static let defaultOpset = 21

    public init(name: String = "graph", inputs: [ValueInfo] = [], outputs: [ValueInfo] = [],
                initializers: [String: Tensor] = [:], nodes: [Node] = [],
                opsetImports: [String: Int] = ["": Graph.defaultOpset], valueTypes: [String: TensorType] = [:]) {
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.initializers = initializers
        self.nodes = nodes
        self.opsetImports = opsetImports
        self.valueTypes = valueTypes
    }

    /// The default-domain opset version.
    public var opset: Int { opsetImports[""] ?? Graph.defaultOpset }

    /// Number of scalars held by the initializers.
    public var parameterCount: Int { initializers.values.reduce(0) { $0 + $1.count } }

    /// Bytes held by the initializers.
    public var parameterBytes: Int { initializers.values.reduce(0) { $0 + $1.byteCount } }

    /// How many nodes use each operator.
    public var operatorCounts: [String: Int] {
        nodes.reduce(into: [:]) { counts, node in counts[node.opType, default: 0] += 1 }
    }
}
