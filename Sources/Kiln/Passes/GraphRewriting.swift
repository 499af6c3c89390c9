/// Queries and edits shared by the graph passes.
extension Graph {
    /// How many times each value is read: by node inputs and as a graph output.
    package func useCounts() -> [String: Int] {
        var counts: [String: Int] = [:]
        for node in nodes {
            for input in node.inputs where !input.isEmpty { counts[input, default: 0] += 1 }
        }
        for output in outputs { counts[output.name, default: 0] += 1 }
        return counts
    }

    /// The index of the node producing each value.
    package func producers() -> [String: Int] {
        var table: [String: Int] = [:]
        for (index, node) in nodes.enumerated() {
            for output in node.outputs where !output.isEmpty { table[output] = index }
        }
        return table
    }

    /// Indices of the nodes reading each value.
    package func consumers() -> [String: [Int]] {
        var table: [String: [Int]] = [:]
        for (index, node) in nodes.enumerated() {
            for input in Set(node.inputs) where !input.isEmpty { table[input, default: []].append(index) }
        }
        return table
    }

    package func isGraphOutput(_ name: String) -> Bool { outputs.contains { $0.name == name } }

    package func isGraphInput(_ name: String) -> Bool { inputs.contains { $0.name == name } }

    /// The constant behind `name`: an initializer not overridden by a graph input.
    package func constant(_ name: String) -> Tensor? {
        guard !name.isEmpty, let tensor = initializers[name], !isGraphInput(name) else { return nil }
        return tensor
    }

    /// The single float of a one-element float32 constant.
    package func scalarConstant(_ name: String) -> Float? {
        guard let tensor = constant(name), tensor.dtype == .float32, tensor.count == 1 else { return nil }
        return tensor.floats().first
    }

    /// Makes every node read `replacement` where it read `value`.
    package mutating func replaceUses(of value: String, with replacement: String) {
        for index in nodes.indices {
            for position in nodes[index].inputs.indices where nodes[index].inputs[position] == value {
                nodes[index].inputs[position] = replacement
            }
        }
    }

    /// A value or node name not used anywhere in the graph yet.
    package func unusedName(_ base: String) -> String {
        var taken = Set(initializers.keys)
        for input in inputs { taken.insert(input.name) }
        for node in nodes {
            taken.insert(node.name)
            taken.formUnion(node.outputs)
        }
        if !taken.contains(base) { return base }
        var suffix = 1
        while taken.contains("\(base)_\(suffix)") { suffix += 1 }
        return "\(base)_\(suffix)"
    }

    /// Removes the nodes at `indices`.
    package mutating func removeNodes(_ indices: Set<Int>) {
        guard !indices.isEmpty else { return }
        nodes = nodes.enumerated().filter { !indices.contains($0.offset) }.map(\.element)
    }

    /// The static shape of `name` from the last type inference, when fully known.
    package func staticShape(_ name: String) -> [Int]? {
        if let tensor = constant(name) { return tensor.shape }
        return valueTypes[name]?.concreteShape
    }

    /// The rank of `name` from the last type inference.
    package func rank(_ name: String) -> Int? {
        if let tensor = constant(name) { return tensor.shape.count }
        return valueTypes[name]?.shape?.count
    }

    /// Whether a node's outputs other than the first are absent or unread.
    package func onlyFirstOutputUsed(_ node: Node, useCounts: [String: Int]) -> Bool {
        node.outputs.dropFirst().allSatisfy { $0.isEmpty || (useCounts[$0] ?? 0) == 0 }
    }
}

/// Float comparisons for pattern constants written by exporters at various precisions.
package func approximatelyEqual(_ a: Float, _ b: Float, relative: Float = 1e-4) -> Bool {
    abs(a - b) <= relative * max(abs(a), abs(b))
}
