/// Replaces the erf form of GELU, `x * 0.5 * (1 + Erf(x / sqrt 2))`, with one `Gelu` node.
///
/// Exporters write it in several orders; all of these match (`a = Add(Erf(s), 1)`, `s` being
/// `Div(x, sqrt 2)` or `Mul(x, 1/sqrt 2)`):
/// - `Mul(Mul(x, a), 0.5)` (PyTorch),
/// - `Mul(x, Mul(a, 0.5))`,
/// - `Mul(Mul(x, 0.5), a)`.
/// Every intermediate must be read only inside the pattern; commutative operands in either order.
public struct FuseGeluPass: GraphPass {
    public let name = "fuse_gelu"

    public init() {}

    public func run(_ graph: inout Graph) throws -> Int {
        var fired = 0
        var index = 0
        while index < graph.nodes.count {
            if fuse(aroundErfAt: index, in: &graph) { fired += 1 } else { index += 1 }
        }
        return fired
    }

    private func fuse(aroundErfAt index: Int, in graph: inout Graph) -> Bool {
        let erf = graph.nodes[index]
        guard erf.opType == "Erf", erf.domain.isEmpty, erf.inputs.count == 1 else { return false }
        let match = PatternMatcher(graph)
        let producers = graph.producers()
        // The scaled input x / sqrt 2.
        guard let scaleIndex = producers[erf.inputs[0]], match.useCounts[erf.inputs[0]] == 1 else { return false }
        let scale = graph.nodes[scaleIndex]
        guard scale.domain.isEmpty, scale.inputs.count == 2, let factor = graph.scalarConstant(scale.inputs[1])
        else { return false }
        let x = scale.inputs[0]
        switch scale.opType {
        case "Div" where approximatelyEqual(factor, Float(2).squareRoot()): break
        case "Mul" where approximatelyEqual(factor, 1 / Float(2).squareRoot()): break
        default: return false
        }
        guard graph.valueTypes[x]?.dtype == .float32,
              let addOne = match.onlyReader(of: erf.outputs[0], opType: "Add"),
              match.otherOperand(addOne.node, erf.outputs[0]).flatMap(graph.scalarConstant) == 1,
              let first = match.onlyReader(of: addOne.node.outputs[0], opType: "Mul"),
              let firstOther = match.otherOperand(first.node, addOne.node.outputs[0]) else { return false }
        let snapshot = graph
        let isHalf = { (name: String) in snapshot.scalarConstant(name) == 0.5 }

        var removed: Set<Int> = [scaleIndex, index, addOne.index, first.index]
        let last: (index: Int, node: Node)
        if firstOther == x {
            // Mul(Mul(x, a), 0.5)
            guard let half = match.onlyReader(of: first.node.outputs[0], opType: "Mul"),
                  match.otherOperand(half.node, first.node.outputs[0]).map(isHalf) == true else { return false }
            last = half
        } else if isHalf(firstOther) {
            // Mul(x, Mul(a, 0.5))
            guard let outer = match.onlyReader(of: first.node.outputs[0], opType: "Mul"),
                  match.otherOperand(outer.node, first.node.outputs[0]) == x else { return false }
            last = outer
        } else {
            // Mul(Mul(x, 0.5), a)
            guard let halfIndex = producers[firstOther], match.useCounts[firstOther] == 1 else { return false }
            let half = graph.nodes[halfIndex]
            guard half.opType == "Mul", half.domain.isEmpty, match.otherOperand(half, x).map(isHalf) == true
            else { return false }
            removed.insert(halfIndex)
            last = first
        }
        removed.insert(last.index)
        let output = last.node.outputs[0]
        graph.nodes[last.index] = Node(name: graph.unusedName("\(erf.name)_gelu"), opType: "Gelu", inputs: [x],
                                       outputs: [output])
        graph.removeNodes(removed.subtracting([last.index]))
        return true
    }
}
