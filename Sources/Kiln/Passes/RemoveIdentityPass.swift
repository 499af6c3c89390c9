/// Removes `Identity` nodes and inference-mode `Dropout` nodes whose mask output is unread.
///
/// Readers of the node's output read its input instead. When the output is a graph output, the
/// producer of the input is renamed to produce it directly, so graph output names never change;
/// when that is impossible (the input is a graph input, an initializer or itself a graph output)
/// the node stays.
public struct RemoveIdentityPass: GraphPass {
    public let name = "remove_identity"

    public init() {}

    public func run(_ graph: inout Graph) throws -> Int {
        var fired = 0
        var index = 0
        while index < graph.nodes.count {
            if try removeIfPassThrough(at: index, in: &graph) {
                fired += 1
            } else {
                index += 1
            }
        }
        return fired
    }

    private func removeIfPassThrough(at index: Int, in graph: inout Graph) throws -> Bool {
        let node = graph.nodes[index]
        guard node.domain.isEmpty, node.inputs.first.map({ !$0.isEmpty }) == true,
              let output = node.outputs.first, !output.isEmpty else { return false }
        switch node.opType {
        case "Identity":
            break
        case "Dropout":
            guard graph.onlyFirstOutputUsed(node, useCounts: graph.useCounts()) else { return false }
            // A training_mode input that is not a constant false could make the output random.
            if node.inputs.count > 2, !node.inputs[2].isEmpty {
                guard let mode = graph.constant(node.inputs[2]), mode.dtype == .bool, mode.count == 1,
                      try mode.scalars(as: Bool.self) == [false] else { return false }
            }
        default:
            return false
        }
        let input = node.inputs[0]
        if graph.isGraphOutput(output) {
            guard let producer = graph.producers()[input], !graph.isGraphOutput(input) else { return false }
            guard let position = graph.nodes[producer].outputs.firstIndex(of: input) else { return false }
            graph.nodes[producer].outputs[position] = output
            graph.replaceUses(of: input, with: output)
        } else {
            graph.replaceUses(of: output, with: input)
        }
        graph.nodes.remove(at: index)
        return true
    }
}
