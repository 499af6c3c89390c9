/// Simplifies chains of layout operators:
/// - `Reshape(Reshape(x, s1), s2)` reads `x` directly when `s2` is a constant without 0 entries
///   (a 0 copies a dim of its own input, which the inner Reshape changed);
/// - `Transpose(Transpose(x, p1), p2)` becomes one `Transpose(x, p1[p2[i]])`;
/// - a `Transpose` with the identity permutation, and a `Reshape` to its input's own static
///   shape, are removed (readers read the input) unless their output is a graph output.
public struct SimplifyReshapeTransposePass: GraphPass {
    public let name = "simplify_reshape_transpose"

    public init() {}

    public func run(_ graph: inout Graph) throws -> Int {
        try graph.inferTypes()
        var fired = 0
        var index = 0
        while index < graph.nodes.count {
            switch try simplify(at: index, in: &graph) {
            case .unchanged: index += 1
            case .rewritten: fired += 1; index += 1
            case .removed: fired += 1
            }
        }
        return fired
    }

    private enum Outcome { case unchanged, rewritten, removed }

    private func simplify(at index: Int, in graph: inout Graph) throws -> Outcome {
        let node = graph.nodes[index]
        guard node.domain.isEmpty, node.outputs.count == 1, let source = node.inputs.first, !source.isEmpty
        else { return .unchanged }
        let output = node.outputs[0]
        let producer = graph.producers()[source].map { graph.nodes[$0] }
        switch node.opType {
        case "Reshape":
            guard node.inputs.count == 2, let shape = graph.constant(node.inputs[1]) else { return .unchanged }
            let target = shape.int64s()
            if let inputShape = graph.staticShape(source), graph.staticShape(output) == inputShape,
               !graph.isGraphOutput(output) {
                graph.replaceUses(of: output, with: source)
                graph.nodes.remove(at: index)
                return .removed
            }
            guard let producer, producer.opType == "Reshape", producer.domain.isEmpty, !target.contains(0)
            else { return .unchanged }
            graph.nodes[index].inputs[0] = producer.inputs[0]
            return .rewritten
        case "Transpose":
            guard let rank = graph.rank(source) else { return .unchanged }
            let permutation = try node.ints("perm") ?? Array((0..<rank).reversed())
            guard permutation.count == rank else { return .unchanged }
            if permutation == Array(0..<rank), !graph.isGraphOutput(output) {
                graph.replaceUses(of: output, with: source)
                graph.nodes.remove(at: index)
                return .removed
            }
            guard let producer, producer.opType == "Transpose", producer.domain.isEmpty,
                  let inner = producer.inputs.first, let innerRank = graph.rank(inner), innerRank == rank else { return .unchanged }
            let innerPermutation = try producer.ints("perm") ?? Array((0..<rank).reversed())
            guard innerPermutation.count == rank,
                  innerPermutation.allSatisfy({ (0..<rank).contains($0) }),
                  permutation.allSatisfy({ (0..<rank).contains($0) }) else { return .unchanged }
            graph.nodes[index].inputs[0] = inner
            graph.nodes[index].attributes["perm"] = .ints(permutation.map { innerPermutation[$0] })
            return .rewritten
        default:
            return .unchanged
        }
    }
}
