/// Replaces the exported layer-norm pattern over the last axis with one `LayerNormalization`:
///
///     mean = ReduceMean(x); d = Sub(x, mean); var = ReduceMean(Pow(d, 2))
///     y = Add(Mul(Div(d, Sqrt(Add(var, eps))), gamma), beta)
///
/// `gamma` and `beta` must be 1-D float32 initializers (either operand order of Mul and Add), and
/// every intermediate value read only inside the pattern.
public struct FuseLayerNormPass: GraphPass {
    public let name = "fuse_layer_norm"

    public init() {}

    public func run(_ graph: inout Graph) throws -> Int {
        var fired = 0
        var index = 0
        while index < graph.nodes.count {
            if try fuse(startingAt: index, in: &graph) { fired += 1 } else { index += 1 }
        }
        return fired
    }

    private func fuse(startingAt index: Int, in graph: inout Graph) throws -> Bool {
        let firstMean = graph.nodes[index]
        guard firstMean.opType == "ReduceMean", try reducesLastAxisOnly(firstMean, graph: graph) else { return false }
        let x = firstMean.inputs[0]
        let match = PatternMatcher(graph)
        guard let sub = match.onlyReader(of: firstMean.outputs[0], opType: "Sub"),
              sub.node.inputs == [x, firstMean.outputs[0]] else { return false }
        let difference = sub.node.outputs[0]
        let readers = match.readers(of: difference)
        guard readers.count == 2, !graph.isGraphOutput(difference),
              let pow = readers.first(where: { $0.node.opType == "Pow" }),
              let div = readers.first(where: { $0.node.opType == "Div" }),
              pow.node.inputs.first == difference, graph.scalarConstant(pow.node.inputs[1]) == 2,
              div.node.inputs.first == difference,
              let secondMean = match.onlyReader(of: pow.node.outputs[0], opType: "ReduceMean"),
              try reducesLastAxisOnly(secondMean.node, graph: graph),
              let addEpsilon = match.onlyReader(of: secondMean.node.outputs[0], opType: "Add"),
              let epsilon = match.otherOperand(addEpsilon.node, secondMean.node.outputs[0]).flatMap(graph.scalarConstant),
              let sqrt = match.onlyReader(of: addEpsilon.node.outputs[0], opType: "Sqrt"),
              let divReader = match.onlyReader(of: sqrt.node.outputs[0], opType: "Div"), divReader.index == div.index,
              div.node.inputs[1] == sqrt.node.outputs[0],
              let mul = match.onlyReader(of: div.node.outputs[0], opType: "Mul"),
              let gamma = match.otherOperand(mul.node, div.node.outputs[0]),
              let addBeta = match.onlyReader(of: mul.node.outputs[0], opType: "Add"),
              let beta = match.otherOperand(addBeta.node, mul.node.outputs[0]),
              let gammaTensor = graph.constant(gamma), let betaTensor = graph.constant(beta),
              gammaTensor.dtype == .float32, betaTensor.dtype == .float32,
              gammaTensor.shape.count == 1, betaTensor.shape == gammaTensor.shape,
              let width = graph.staticShape(x)?.last ?? gammaTensor.shape.first, width == gammaTensor.shape[0],
              graph.valueTypes[x]?.dtype == .float32 else { return false }
        let output = addBeta.node.outputs[0]
        let fused = Node(name: graph.unusedName("\(firstMean.name)_layer_norm"), opType: "LayerNormalization",
                         inputs: [x, gamma, beta], outputs: [output],
                         attributes: ["axis": .int(-1), "epsilon": .float(epsilon)])
        let removed: Set<Int> = [index, sub.index, pow.index, div.index, secondMean.index, addEpsilon.index,
                                 sqrt.index, mul.index, addBeta.index]
        // The fused node takes the place of the last node so later readers still follow it.
        graph.nodes[addBeta.index] = fused
        graph.removeNodes(removed.subtracting([addBeta.index]))
        return true
    }

    /// Whether a ReduceMean keeps dims and reduces exactly the last axis of its input.
    private func reducesLastAxisOnly(_ node: Node, graph: Graph) throws -> Bool {
        guard node.domain.isEmpty, try node.int("keepdims", default: 1) == 1, let rank = graph.rank(node.inputs[0])
        else { return false }
        let axes: [Int]
        if let attribute = try node.ints("axes") {
            axes = attribute
        } else if node.inputs.count > 1, let tensor = graph.constant(node.inputs[1]) {
            axes = tensor.int64s().map(Int.init)
        } else {
            return false
        }
        return axes.count == 1 && (axes[0] == -1 || axes[0] == rank - 1)
    }
}

/// Read-only lookups for matching node patterns.
struct PatternMatcher {
    let graph: Graph
    let consumers: [String: [Int]]
    let useCounts: [String: Int]

    init(_ graph: Graph) {
        self.graph = graph
        consumers = graph.consumers()
        useCounts = graph.useCounts()
    }

    func readers(of value: String) -> [(index: Int, node: Node)] {
        (consumers[value] ?? []).map { ($0, graph.nodes[$0]) }
    }

    /// The node of type `opType` that is the only reader of `value` (read once, not a graph output).
    func onlyReader(of value: String, opType: String) -> (index: Int, node: Node)? {
        guard useCounts[value] == 1, let reader = readers(of: value).first,
              reader.node.opType == opType, reader.node.domain.isEmpty, reader.node.outputs.count == 1 else { return nil }
        return reader
    }

    /// The input of a binary node that is not `value`.
    func otherOperand(_ node: Node, _ value: String) -> String? {
        guard node.inputs.count == 2 else { return nil }
        if node.inputs[0] == value { return node.inputs[1] }
        if node.inputs[1] == value { return node.inputs[0] }
        return nil
    }
}
