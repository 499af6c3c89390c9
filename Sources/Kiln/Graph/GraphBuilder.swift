/// Builds a ``Graph`` in code.
///
/// ```swift
/// var builder = GraphBuilder(name: "tiny")
/// let x = builder.input("x", .float32, ["batch", 4])
/// let w = builder.constant(try Tensor(shape: [4, 2], scalars: weights))
/// let y = builder.node("MatMul", [x, w])
/// builder.output(builder.node("Relu", [y]), as: "y")
/// let model = try Model(graph: builder.build())
/// ```
public struct GraphBuilder: Sendable {
    private var graph: Graph
    private var counter = 0
    private var renames: [String: String] = [:]

    /// Starts an empty graph.
    /// - Parameters:
    ///   - name: The graph's name.
    ///   - opset: The ONNX opset whose operator semantics the nodes follow.
    public init(name: String = "graph", opset: Int = Graph.defaultOpset) {
        graph = Graph(name: name, opsetImports: ["": opset])
    }

    private mutating func uniqueName(_ prefix: String) -> String {
        counter += 1
        return "\(prefix)_\(counter)"
    }

    /// Declares a graph input and returns its name.
    @discardableResult
    public mutating func input(_ name: String, _ dtype: DType, _ shape: [Dim]) -> String {
        graph.inputs.append(ValueInfo(name, dtype, shape))
        return name
    }

    /// Adds a constant (initializer) and returns its value name.
    /// - Parameter name: A name for the value; a unique one is made when nil.
    @discardableResult
    public mutating func constant(_ tensor: Tensor, name: String? = nil) -> String {
        let valueName = name ?? uniqueName("const")
        graph.initializers[valueName] = tensor
        return valueName
    }

    /// Adds a node and returns the names of its outputs.
    /// - Parameters:
    ///   - opType: The ONNX operator, e.g. `"Conv"`.
    ///   - inputs: Input value names; "" for an omitted optional input.
    ///   - attributes: Operator attributes.
    ///   - outputCount: How many outputs the node has.
    ///   - name: The node's name; a unique one is made when nil.
    public mutating func node(_ opType: String, _ inputs: [String], attributes: [String: Attribute] = [:],
                              outputCount: Int, name: String? = nil) -> [String] {
        let nodeName = name ?? uniqueName(opType.lowercased())
        let outputs = (0..<outputCount).map { outputCount == 1 ? nodeName : "\(nodeName):\($0)" }
        graph.nodes.append(Node(name: nodeName, opType: opType, inputs: inputs, outputs: outputs,
                                attributes: attributes))
        return outputs
    }

    /// Adds a single-output node and returns the name of its output.
    @discardableResult
    public mutating func node(_ opType: String, _ inputs: [String], attributes: [String: Attribute] = [:],
                              name: String? = nil) -> String {
        node(opType, inputs, attributes: attributes, outputCount: 1, name: name)[0]
    }

    /// Marks `value` as a graph output, optionally under another name (an Identity node is added).
    public mutating func output(_ value: String, as name: String? = nil) {
        var valueName = value
        if let name, name != value {
            graph.nodes.append(Node(name: uniqueName("output"), opType: "Identity", inputs: [value], outputs: [name]))
            valueName = name
        }
        // The type is filled in by inference when the graph is built.
        graph.outputs.append(ValueInfo(name: valueName, type: TensorType(.float32, nil)))
    }

    /// Validates the graph, infers every value's type and returns it.
    /// - Throws: ``GraphError``.
    public func build() throws(GraphError) -> Graph {
        var result = graph
        try result.inferTypes()
        return result
    }
}
