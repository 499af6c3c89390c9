/// Replaces GELU written out, in the erf form `x * 0.5 * (1 + Erf(x / sqrt 2))` or the tanh form
/// `x * 0.5 * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 x^3)))`, with one `Gelu` node (`approximate =
/// "tanh"` for the latter).
///
/// Exporters write it in several orders; all of these match (`a = Add(Erf(s), 1)` or the Tanh
/// equivalent, `s` being `Div(x, sqrt 2)` or `Mul(x, 1/sqrt 2)`):
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
            if fuse(aroundFunctionAt: index, in: &graph) { fired += 1 } else { index += 1 }
        }
        return fired
    }

    private func fuse(aroundFunctionAt index: Int, in graph: inout Graph) -> Bool {
        let erf = graph.nodes[index]
        guard ["Erf", "Tanh"].contains(erf.opType), erf.domain.isEmpty, erf.inputs.count == 1,
              erf.outputs.count == 1 else { return false }
        let match = PatternMatcher(graph)
        let producers = graph.producers()
        let approximate = erf.opType == "Tanh"
        guard let head = approximate ? tanhArgument(erf.inputs[0], graph, match, producers)
                                     : erfArgument(erf.inputs[0], graph, match, producers) else { return false }
        let x = head.x
        guard graph.valueTypes[x]?.dtype == .float32,
              let addOne = match.onlyReader(of: erf.outputs[0], opType: "Add"),
              match.otherOperand(addOne.node, erf.outputs[0]).flatMap(graph.scalarConstant) == 1,
              let first = match.onlyReader(of: addOne.node.outputs[0], opType: "Mul"),
              let firstOther = match.otherOperand(first.node, addOne.node.outputs[0]) else { return false }
        let snapshot = graph
        let isHalf = { (name: String) in snapshot.scalarConstant(name) == 0.5 }

        var removed = head.nodes.union([index, addOne.index, first.index])
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
                                       outputs: [output],
                                       attributes: approximate ? ["approximate": .string("tanh")] : [:])
        graph.removeNodes(removed.subtracting([last.index]))
        return true
    }

    /// `x` from the Erf argument `x / sqrt 2` (Div) or `x * (1 / sqrt 2)` (Mul), with that node.
    private func erfArgument(_ value: String, _ graph: Graph, _ match: PatternMatcher,
                             _ producers: [String: Int]) -> (x: String, nodes: Set<Int>)? {
        guard let scaleIndex = producers[value], match.useCounts[value] == 1 else { return nil }
        let scale = graph.nodes[scaleIndex]
        guard scale.domain.isEmpty, scale.inputs.count == 2, let factor = graph.scalarConstant(scale.inputs[1])
        else { return nil }
        switch scale.opType {
        case "Div" where approximatelyEqual(factor, Float(2).squareRoot()): break
        case "Mul" where approximatelyEqual(factor, 1 / Float(2).squareRoot()): break
        default: return nil
        }
        return (scale.inputs[0], [scaleIndex])
    }

    /// `x` from the Tanh argument `sqrt(2/pi) * (x + 0.044715 * x^3)`, the cube written as
    /// `Pow(x, 3)` or `x * (x * x)`, with the nodes computing it.
    private func tanhArgument(_ value: String, _ graph: Graph, _ match: PatternMatcher,
                              _ producers: [String: Int]) -> (x: String, nodes: Set<Int>)? {
        /// The single-use node of type `opType` producing `value`.
        func producer(_ value: String, _ opType: String) -> (index: Int, node: Node)? {
            guard let index = producers[value], match.useCounts[value] == 1, graph.nodes[index].opType == opType,
                  graph.nodes[index].domain.isEmpty, graph.nodes[index].inputs.count == 2 else { return nil }
            return (index, graph.nodes[index])
        }
        /// The non-constant operand of a binary node whose other operand is the scalar `constant`.
        func scaled(_ node: Node, by constant: Float) -> String? {
            for (operand, factor) in [(0, 1), (1, 0)] {
                if let value = graph.scalarConstant(node.inputs[factor]), approximatelyEqual(value, constant) {
                    return node.inputs[operand]
                }
            }
            return nil
        }
        guard let outer = producer(value, "Mul"), let sum = scaled(outer.node, by: (2 / Float.pi).squareRoot()),
              let add = producer(sum, "Add") else { return nil }
        for (x, cubicTerm) in [(add.node.inputs[0], add.node.inputs[1]), (add.node.inputs[1], add.node.inputs[0])] {
            guard let cubic = producer(cubicTerm, "Mul"), let cube = scaled(cubic.node, by: 0.044715) else { continue }
            var nodes: Set<Int> = [outer.index, add.index, cubic.index]
            if let power = producer(cube, "Pow"), power.node.inputs[0] == x, graph.scalarConstant(power.node.inputs[1]) == 3 {
                nodes.insert(power.index)
                return (x, nodes)
            }
            if let product = producer(cube, "Mul"), let square = match.otherOperand(product.node, x),
               let squaring = producer(square, "Mul"), squaring.node.inputs == [x, x] {
                nodes.formUnion([product.index, squaring.index])
                return (x, nodes)
            }
        }
        return nil
    }
}
