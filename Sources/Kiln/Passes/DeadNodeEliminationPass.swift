/// Removes nodes none of whose outputs reach a graph output, and initializers nothing reads.
public struct DeadNodeEliminationPass: GraphPass {
    public let name = "eliminate_dead_nodes"

    public init() {}

    public func run(_ graph: inout Graph) throws -> Int {
        let order = try graph.topologicalOrder()
        var live = Set(graph.outputs.map(\.name))
        var dead = Set<Int>()
        for index in order.reversed() {
            let node = graph.nodes[index]
            if node.outputs.contains(where: { live.contains($0) }) {
                live.formUnion(node.inputs.filter { !$0.isEmpty })
            } else {
                dead.insert(index)
            }
        }
        graph.removeNodes(dead)
        let unusedInitializers = graph.initializers.keys.filter { !live.contains($0) }
        for name in unusedInitializers { graph.initializers[name] = nil }
        return dead.count + unusedInitializers.count
    }
}
