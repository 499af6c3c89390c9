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
/// depthwise 3x3 (dilation 1, stride 1 or 2), connected through their input X or fused residual Z;
/// and, between them, 2-D float32 `MaxPool`s and `Concat`s along the channels (a SqueezeNet's Fire
/// modules). A chain is converted when it holds at least ``minimumDepthwise`` depthwise
/// convolutions, or as many group-1 stride-1 convolutions larger than 1x1 that
/// ``DirectConvolutionChannelsLast`` runs (at least 8 input channels, output channels a multiple
/// of 64) in a build that has it (AVX-512); others stay as they are. Converted convolutions and
/// max poolings carry the Kiln-internal attribute `kiln_channels_last = 1` and keep ONNX's weight
/// layout; a converted `Concat` joins along axis 3.
///
/// So the layout depends on the build that converts: in an AVX-512 build, ResNets and SqueezeNet
/// run channels-last on the direct kernels, which measured faster at 2 threads than NCHW with
/// Winograd and OpenBLAS (ResNet-50 25.2 -> 22.6 ms, ResNet-18 -10%, SqueezeNet 1.44 -> 1.30
/// against ONNX Runtime); in other builds, where the direct kernels do not run, they stay NCHW. A
/// file converted by one build runs correctly in any other, at the other layout's speed (as ONNX
/// Runtime's saved optimized models are tied to the machine that optimized them).
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

    /// Whether group-1 convolutions run ``DirectConvolutionChannelsLast`` channels-last.
    package let directConvolutions: Bool

    /// Converts for the kernels of this build.
    public init() {
        self.init(directConvolutions: DirectConvolutionChannelsLast.isAvailable)
    }

    package init(directConvolutions: Bool) {
        self.directConvolutions = directConvolutions
    }

    /// What a member is.
    enum Kind: Equatable {
        case depthwise
        /// A group-1 convolution; `direct` when it is stride 1, larger than 1x1 and runs
        /// ``DirectConvolutionChannelsLast`` channels-last.
        case groupOne(direct: Bool)
        /// A `MaxPool` or `Concat`: any layout in, the same layout out.
        case passThrough
    }

    public func run(_ graph: inout Graph) throws -> Int {
        var kinds: [Int: Kind] = [:]
        for (index, node) in graph.nodes.enumerated() {
            if let kind = try kind(of: node, in: graph) { kinds[index] = kind }
        }
        func count(_ kind: Kind, in indices: some Sequence<Int>) -> Int { indices.filter { kinds[$0] == kind }.count }
        guard count(.depthwise, in: kinds.keys) >= Self.minimumDepthwise
                || count(.groupOne(direct: true), in: kinds.keys) >= Self.minimumDepthwise else { return 0 }

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
        for (index, kind) in kinds {
            for value in Self.layoutInputs(of: graph.nodes[index], kind: kind) {
                if let producer = producers[value], kinds[producer] != nil { parent[root(index)] = root(producer) }
            }
        }
        var chains: [Int: [Int]] = [:]
        for index in kinds.keys { chains[root(index), default: []].append(index) }
        let converted = chains.values.filter { chain in
            count(.depthwise, in: chain) >= Self.minimumDepthwise
                || count(.groupOne(direct: true), in: chain) >= Self.minimumDepthwise
        }
        // A chain of poolings and joins alone gains nothing.
        let members = kinds.filter { index, _ in converted.contains { $0.contains(index) } }
        guard members.values.contains(where: { $0 != .passThrough }) else { return 0 }

        rewrite(&graph, members: members)
        try graph.inferTypes()
        return members.count
    }

    /// nil when `node` cannot run channels-last.
    func kind(of node: Node, in graph: Graph) throws -> Kind? {
        if node.domain.isEmpty, ["MaxPool", "Concat"].contains(node.opType), node.attributes[Self.attributeName] == nil,
           node.outputs.count == 1, !node.inputs.isEmpty,
           node.inputs.allSatisfy({ graph.valueTypes[$0]?.dtype == .float32 && graph.valueTypes[$0]?.shape?.count == 4 }) {
            if node.opType == "MaxPool" { return try node.ints("kernel_shape")?.count == 2 ? .passThrough : nil }
            let axis = try node.int("axis", default: 0)
            return axis == 1 || axis == -3 ? .passThrough : nil
        }
        guard node.domain.isEmpty, node.opType == "Conv", node.outputs.count == 1,
              node.attributes[Self.attributeName] == nil, let input = node.inputs.first,
              graph.valueTypes[input]?.dtype == .float32,
              let inputShape = graph.valueTypes[input]?.shape, inputShape.count == 4, let channels = inputShape[1].value,
              node.inputs.count > 1, let weightShape = graph.staticShape(node.inputs[1]), weightShape.count == 4
        else { return nil }
        let groups = try node.int("group", default: 1)
        let dilations = try node.ints("dilations") ?? [1, 1]
        let strides = try node.ints("strides") ?? [1, 1]
        if groups == 1 {
            let direct = directConvolutions && strides == [1, 1] && dilations == [1, 1]
                && weightShape[2] * weightShape[3] > 1 && channels >= DirectConvolutionChannelsLast.minimumChannels
                && weightShape[0] % DirectConvolutionChannelsLast.channelGroup == 0
            return .groupOne(direct: direct)
        }
        let isDepthwise = groups == channels && weightShape[0] == groups && weightShape[1] == 1
            && weightShape[2] == 3 && weightShape[3] == 3 && dilations == [1, 1]
            && (strides == [1, 1] || strides == [2, 2])
        return isDepthwise ? .depthwise : nil
    }

    /// The inputs of a member that are in its layout: X and the fused residual Z of a Conv, every
    /// input of a pooling or join.
    private static func layoutInputs(of node: Node, kind: Kind) -> [String] {
        let positions = kind == .passThrough ? Array(node.inputs.indices) : [0, 3]
        return positions.compactMap { position in
            position < node.inputs.count && !node.inputs[position].isEmpty ? node.inputs[position] : nil
        }
    }

    /// Whether `node` is a global pooling that can read a channels-last input instead.
    private static func isGlobalPooling(_ node: Node) -> Bool {
        node.domain.isEmpty && ["GlobalAveragePool", "GlobalMaxPool"].contains(node.opType)
            && node.attributes[attributeName] == nil
    }

    /// Converts `members`.
    private func rewrite(_ graph: inout Graph, members: [Int: Kind]) {
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
            guard let kind = members[index] else {
                // A global pooling reads a member's output as it is.
                if Self.isGlobalPooling(node), let twin = twins[node.inputs[0]] {
                    node.inputs[0] = twin
                    node.attributes[Self.attributeName] = .int(1)
                }
                nodes.append(node)
                continue
            }
            // A group-1 convolution lowers its input anyway, so it reads an NCHW X in place.
            let readsNCHW = kind != .depthwise && kind != .passThrough && twins[node.inputs[0]] == nil
            switch (kind, node.opType) {
            case (.passThrough, "Concat"): node.attributes["axis"] = .int(3)
            default: node.attributes[Self.attributeName] = .int(readsNCHW ? Self.outputOnly : 1)
            }
            for position in node.inputs.indices
                where (kind == .passThrough || position == 0 || position == 3) && !node.inputs[position].isEmpty {
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
            // Members read it channels-last (convolutions as X or Z), global poolings as X; anything
            // else needs it back in NCHW.
            let readChannelsLastOnly = readers.allSatisfy { reader in
                let readerNode = graph.nodes[reader]
                guard let readerKind = members[reader] else { return Self.isGlobalPooling(readerNode) }
                if readerKind == .passThrough { return true }
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
