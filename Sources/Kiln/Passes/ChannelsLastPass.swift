/// Runs chains of convolutions that include depthwise ones channels-last (`[N, H, W, C]`), with one
/// `Transpose` where the chain reads an NCHW value and one where an NCHW reader needs its result.
///
/// A MobileNet-style network is pointwise, depthwise, pointwise convolutions over and over. In
/// NCHW a depthwise kernel only gets vector arithmetic across channels by transposing four planes
/// into channel-interleaved form and back for every group (``DepthwiseChannelGroups``), and on
/// MobileNetV2's 7x7 to 28x28 layers that cost as much as the arithmetic. Channels-last needs no
/// transposes: the depthwise kernel loads four channels at once (``DepthwiseChannelsLast``), and a
/// pointwise convolution is still one matrix product per tile, now with positions as rows
/// (``ChannelsLastGEMM``). ONNX Runtime does the same with its NCHWc layout.
///
/// The first convolution of a chain usually reads the network's NCHW input: a group-1 one lowers it
/// straight from NCHW (no `Transpose`), and a chain ending in global pooling hands it its
/// channels-last output.
///
/// Members of a chain: float32 2-D `Conv` nodes with known input channels and weight shape that are group 1 (any kernel) or
/// depthwise 3x3 (dilation 1, stride 1 or 2), connected through their input X or fused residual Z.
/// A chain is converted when it holds at least ``minimumDepthwise`` depthwise convolutions; others
/// (a ResNet, whose 3x3 layers run Winograd in NCHW) stay as they are. Converted nodes carry the
/// Kiln-internal attribute `kiln_channels_last = 1` and keep ONNX's weight layout.
///
/// Run it after the fusion passes (``PassPipeline/default`` runs it once, after they settle): a
/// converted node's output only reaches NCHW readers through a `Transpose`, so an activation or
/// residual `Add` after it would no longer fuse.
public struct ChannelsLastPass: GraphPass {
    public let name = "channels_last"

    /// Marks a `Conv` whose X, Y and residual are channels-last (value 1), or whose Y and residual
    /// are while X stays NCHW (value ``outputOnly``); and a global pooling whose X is channels-last.
    package static let attributeName = "kiln_channels_last"
    /// The attribute's value for a `Conv` reading NCHW and writing channels-last.
    package static let outputOnly = 2

    /// Depthwise convolutions a chain needs to be converted: a lone one does not repay the two
    /// transposes around it.
    package static let minimumDepthwise = 2

    static let toChannelsLast = [0, 2, 3, 1]
    static let toChannelsFirst = [0, 3, 1, 2]

    public init() {}

    public func run(_ graph: inout Graph) throws -> Int {
        var depthwise: [Int: Bool] = [:]
        for (index, node) in graph.nodes.enumerated() {
            if let isDepthwise = try Self.kind(of: node, in: graph) { depthwise[index] = isDepthwise }
        }
        guard depthwise.values.filter({ $0 }).count >= Self.minimumDepthwise else { return 0 }

        // Chains: members joined through the values one produces and another reads as X or Z.
        var parent = Array(graph.nodes.indices)
        func root(_ index: Int) -> Int {
            var index = index
            while parent[index] != index {
                parent[index] = parent[parent[index]]
                index = parent[index]
            }
            return index
        }
        let producers = graph.producers()
        for (index, _) in depthwise {
            for value in Self.layoutInputs(of: graph.nodes[index]) {
                if let producer = producers[value], depthwise[producer] != nil { parent[root(index)] = root(producer) }
            }
        }
        var depthwiseInChain: [Int: Int] = [:]
        for (index, isDepthwise) in depthwise where isDepthwise { depthwiseInChain[root(index), default: 0] += 1 }
        let members = depthwise.filter { depthwiseInChain[root($0.key), default: 0] >= Self.minimumDepthwise }
        guard !members.isEmpty else { return 0 }

        rewrite(&graph, members: members)
        try graph.inferTypes()
        return members.count
    }

    /// nil when `node` cannot run channels-last; else whether it is depthwise.
    static func kind(of node: Node, in graph: Graph) throws -> Bool? {
        guard node.domain.isEmpty, node.opType == "Conv", node.outputs.count == 1,
              node.attributes[attributeName] == nil, let input = node.inputs.first,
              graph.valueTypes[input]?.dtype == .float32,
              let inputShape = graph.valueTypes[input]?.shape, inputShape.count == 4, let channels = inputShape[1].value,
              node.inputs.count > 1, let weightShape = graph.staticShape(node.inputs[1]), weightShape.count == 4
        else { return nil }
        let groups = try node.int("group", default: 1)
        if groups == 1 { return false }
        let dilations = try node.ints("dilations") ?? [1, 1]
        let strides = try node.ints("strides") ?? [1, 1]
        let isDepthwise = groups == channels && weightShape[0] == groups && weightShape[1] == 1
            && weightShape[2] == 3 && weightShape[3] == 3 && dilations == [1, 1]
            && (strides == [1, 1] || strides == [2, 2])
        return isDepthwise ? true : nil
    }

    /// The inputs of a Conv that are in its layout: X, and the fused residual Z.
    private static func layoutInputs(of node: Node) -> [String] {
        [0, 3].compactMap { position in
            position < node.inputs.count && !node.inputs[position].isEmpty ? node.inputs[position] : nil
        }
    }

    /// Whether `node` is a global pooling that can read a channels-last input instead.
    private static func isGlobalPooling(_ node: Node) -> Bool {
        node.domain.isEmpty && ["GlobalAveragePool", "GlobalMaxPool"].contains(node.opType)
            && node.attributes[attributeName] == nil
    }

    /// Converts `members` (index: whether depthwise).
    private func rewrite(_ graph: inout Graph, members: [Int: Bool]) {
        let consumers = graph.consumers()
        var taken = Set<String>()
        func freshName(_ base: String) -> String {
            var name = graph.unusedName(base)
            var suffix = 1
            while taken.contains(name) {
                name = graph.unusedName("\(base)_\(suffix)")
                suffix += 1
            }
            taken.insert(name)
            return name
        }
        func transpose(_ input: String, to output: String, perm: [Int]) -> Node {
            Node(name: freshName(output + "_transpose"), opType: "Transpose", inputs: [input], outputs: [output],
                 attributes: ["perm": .ints(perm)])
        }
        // The channels-last twin of each NCHW value a member reads or writes.
        var twins: [String: String] = [:]
        var nodes: [Node] = []
        for (index, original) in graph.nodes.enumerated() {
            var node = original
            guard let isDepthwise = members[index] else {
                // A global pooling reads a member's output as it is.
                if Self.isGlobalPooling(node), let twin = twins[node.inputs[0]] {
                    node.inputs[0] = twin
                    node.attributes[Self.attributeName] = .int(1)
                }
                nodes.append(node)
                continue
            }
            // A group-1 convolution lowers its input anyway, so it reads an NCHW X in place.
            let readsNCHW = !isDepthwise && twins[node.inputs[0]] == nil
            node.attributes[Self.attributeName] = .int(readsNCHW ? Self.outputOnly : 1)
            for position in [0, 3] where position < node.inputs.count && !node.inputs[position].isEmpty {
                let value = node.inputs[position]
                if position == 0 && readsNCHW { continue }
                if twins[value] == nil {
                    let twin = freshName(value + "_channels_last")
                    nodes.append(transpose(value, to: twin, perm: Self.toChannelsLast))
                    twins[value] = twin
                }
                node.inputs[position] = twins[value]!
            }
            let output = node.outputs[0]
            let twin = freshName(output + "_channels_last")
            twins[output] = twin
            node.outputs[0] = twin
            nodes.append(node)
            let readers = consumers[output] ?? []
            // Members read it channels-last as X or Z, global poolings as X; anything else needs it
            // back in NCHW.
            let readChannelsLastOnly = readers.allSatisfy { reader in
                let readerNode = graph.nodes[reader]
                if members[reader] == nil { return Self.isGlobalPooling(readerNode) }
                return readerNode.inputs.enumerated().allSatisfy { position, input in
                    input != output || position == 0 || position == 3
                }
            }
            if graph.isGraphOutput(output) || !readChannelsLastOnly {
                nodes.append(transpose(twin, to: output, perm: Self.toChannelsFirst))
            }
        }
        graph.nodes = nodes
    }
}
