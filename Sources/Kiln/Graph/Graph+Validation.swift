extension Graph {
    /// Checks that every value is produced exactly once, every reference resolves, node names are
    /// unique and the nodes form no cycle.
    /// - Throws: ``GraphError`` naming the first problem found.
    public func validate() throws(GraphError) {
        _ = try topologicalOrder()
    }

    /// Node indices in an order where every node comes after the producers of its inputs.
    /// - Throws: ``GraphError`` for duplicate or undefined values and cycles.
    public func topologicalOrder() throws(GraphError) -> [Int] {
        var producer: [String: Int] = [:]  // value -> node index; -1 for inputs and initializers
        for input in inputs {
            guard !input.name.isEmpty else { throw .emptyName(what: "a graph input") }
            guard producer.updateValue(-1, forKey: input.name) == nil else { throw .duplicateValue(name: input.name) }
        }
        for name in initializers.keys {
            // An initializer may share its name with an input (ONNX's default-value form); the input wins.
            if producer[name] == nil { producer[name] = -1 }
        }
        var nodeNames = Set<String>()
        for (index, node) in nodes.enumerated() {
            guard nodeNames.insert(node.name).inserted else { throw .duplicateNodeName(name: node.name) }
            for output in node.outputs where !output.isEmpty {
                guard producer.updateValue(index, forKey: output) == nil else { throw .duplicateValue(name: output) }
            }
        }
        // Kahn's algorithm; ties keep the stored order so results are deterministic.
        var pending = [Int](repeating: 0, count: nodes.count)
        var consumers = [[Int]](repeating: [], count: nodes.count)
        for (index, node) in nodes.enumerated() {
            for input in node.inputs where !input.isEmpty {
                guard let source = producer[input] else { throw .undefinedValue(name: input, usedBy: node.name) }
                if source >= 0 {
                    pending[index] += 1
                    consumers[source].append(index)
                }
            }
        }
        for output in outputs where producer[output.name] == nil { throw .undefinedOutput(name: output.name) }
        var ready = (0..<nodes.count).filter { pending[$0] == 0 }.reversed() as [Int]
        var order: [Int] = []
        order.reserveCapacity(nodes.count)
        while let next = ready.popLast() {
            order.append(next)
            var released: [Int] = []
            for consumer in consumers[next] {
                pending[consumer] -= 1
                if pending[consumer] == 0 { released.append(consumer) }
            }
            ready.append(contentsOf: released.sorted().reversed())
        }
        if order.count < nodes.count {
            let stuck = (0..<nodes.count).first { pending[$0] > 0 } ?? 0
            throw .cycle(involving: nodes[stuck].name)
        }
        return order
    }
}
