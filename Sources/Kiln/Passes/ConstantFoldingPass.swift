/// Replaces nodes whose outputs are known before any input arrives with initializers.
///
/// What is known comes from type inference (``Graph/inferTypes()``), which already evaluates nodes
/// over small constants and tracks shape values symbolically, so shape subgraphs (`Shape`, `Gather`,
/// `Concat`, ... feeding a `Reshape`) fold whenever the dims they read are fixed. Nodes reading
/// only initializers that inference left alone (large weights, e.g. a transposed weight matrix)
/// are run here when their outputs take no more bytes than their inputs, so folding never makes
/// the file bigger than the weights it replaces.
public struct ConstantFoldingPass: GraphPass {
    public let name = "fold_constants"

    /// Largest folded value (in bytes) that may be added without an equally large input to replace.
    public var smallValueBytes: Int

    public init(smallValueBytes: Int = 1 << 16) {
        self.smallValueBytes = smallValueBytes
    }

    public func run(_ graph: inout Graph) throws -> Int {
        let known = try graph.inferTypesCollectingConstants()
        let context = ExecutionContext(threads: 1)
        var folded = Set<Int>()
        var newInitializers: [String: Tensor] = [:]
        for (index, node) in graph.nodes.enumerated() {
            let outputs = node.outputs.filter { !$0.isEmpty }
            // A graph output must stay produced by a node for sessions to return it.
            guard !outputs.isEmpty, !outputs.contains(where: graph.isGraphOutput) else { continue }
            let inputBytes = Set(node.inputs.filter { !$0.isEmpty })
                .reduce(0) { $0 + (graph.constant($1)?.byteCount ?? 0) }
            if outputs.allSatisfy({ known[$0] != nil }) {
                let values = outputs.map { known[$0]! }
                let bytes = values.reduce(0) { $0 + $1.byteCount }
                guard bytes <= max(smallValueBytes, inputBytes) else { continue }
                for (output, value) in zip(outputs, values) { newInitializers[output] = value }
                folded.insert(index)
            } else if let values = runOnInitializers(node, graph: graph, context: context) {
                guard values.count >= node.outputs.count,
                      values.reduce(0, { $0 + $1.byteCount }) <= max(smallValueBytes, inputBytes) else { continue }
                for (output, value) in zip(node.outputs, values) where !output.isEmpty {
                    newInitializers[output] = value
                }
                folded.insert(index)
            }
        }
        graph.removeNodes(folded)
        graph.initializers.merge(newInitializers) { _, new in new }
        return folded.count
    }

    /// The node's outputs when every input it names is an initializer; nil otherwise or on error
    /// (an error is left for run time, where it names the node).
    private func runOnInitializers(_ node: Node, graph: Graph, context: ExecutionContext) -> [Tensor]? {
        let present = node.inputs.filter { !$0.isEmpty }
        guard !present.isEmpty, present.allSatisfy({ graph.constant($0) != nil }),
              let op = try? OperatorRegistry.instantiate(node, opset: graph.opset) else { return nil }
        return try? op.run(node.inputs.map { $0.isEmpty ? nil : graph.constant($0) }, context: context)
    }
}
