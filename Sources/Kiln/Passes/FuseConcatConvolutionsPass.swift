/// Joins channels-last convolutions that read the same input, and whose outputs only a `Concat`
/// along the channels reads, into one ``KilnConcatConvolutions`` node: SqueezeNet's Fire modules
/// (a 1x1 and a 3x3 expand layer side by side) after ``ChannelsLastPass``.
///
/// Channels-last, the `Concat` copied both outputs into the joined tensor (NCHW joins cost nothing:
/// the memory plan places the inputs end to end inside the output). The fused node has each branch
/// write into its own channels of the joined output instead.
///
/// A `Concat` qualifies when its axis is 3 (the channels of a channels-last value, as
/// ``ChannelsLastPass`` writes it), it has at least two inputs, and every input is the only output
/// of a distinct 2-D `Conv` with `kiln_channels_last = 1`, group 1, no fused residual and no
/// `auto_pad`, read by nothing else and not a graph output; all of them read the same X and share
/// their strides, dilations and fused activation.
public struct FuseConcatConvolutionsPass: GraphPass {
    public let name = "fuse_concat_convolutions"

    public init() {}

    /// Attributes every branch must share (pads and kernel_shape may differ).
    private static let shared = ["strides", "dilations", "group", ChannelsLastPass.attributeName,
                                 FusedActivation.attributeName, FusedActivation.parametersAttributeName]

    public func run(_ graph: inout Graph) throws -> Int {
        let producers = graph.producers(), consumers = graph.consumers()
        var fused: [Int: Node] = [:]
        var removed = Set<Int>()
        for (index, concat) in graph.nodes.enumerated() where concat.domain.isEmpty && concat.opType == "Concat" {
            guard concat.outputs.count == 1, concat.inputs.count >= 2, try concat.int("axis") == 3 else { continue }
            let branches = concat.inputs.compactMap { producers[$0] }
            guard branches.count == concat.inputs.count, Set(branches).count == branches.count,
                  try branches.allSatisfy({ try Self.isBranch(graph.nodes[$0], in: graph, readBy: index, consumers: consumers) })
            else { continue }
            let nodes = branches.map { graph.nodes[$0] }
            let first = nodes[0]
            guard nodes.allSatisfy({ $0.inputs[0] == first.inputs[0] }),
                  nodes.allSatisfy({ node in Self.shared.allSatisfy { node.attributes[$0]?.description == first.attributes[$0]?.description } })
            else { continue }
            var attributes = first.attributes.filter { Self.shared.contains($0.key) }
            attributes["pads"] = .ints(try nodes.flatMap { try $0.ints("pads") ?? [0, 0, 0, 0] })
            let inputs = [first.inputs[0]] + nodes.flatMap { [$0.inputs[1], $0.inputs.count > 2 ? $0.inputs[2] : ""] }
            fused[index] = Node(name: graph.unusedName("\(concat.name)_convolutions"), opType: KilnConcatConvolutions.opType,
                                inputs: inputs, outputs: concat.outputs, attributes: attributes)
            removed.formUnion(branches)
        }
        guard !fused.isEmpty else { return 0 }
        graph.nodes = graph.nodes.enumerated().compactMap { index, node in
            removed.contains(index) ? nil : fused[index] ?? node
        }
        try graph.inferTypes()
        return fused.count
    }

    private static func isBranch(_ node: Node, in graph: Graph, readBy concat: Int, consumers: [String: [Int]]) throws -> Bool {
        guard node.domain.isEmpty, node.opType == "Conv", node.outputs.count == 1, node.inputs.count >= 2,
              try node.int(ChannelsLastPass.attributeName) == 1, try node.int("group", default: 1) == 1,
              node.attributes[FuseResidualAddPass.attributeName] == nil, node.attributes["auto_pad"] == nil,
              try (node.ints("pads") ?? [0, 0, 0, 0]).count == 4,
              consumers[node.outputs[0]] == [concat], !graph.isGraphOutput(node.outputs[0])
        else { return false }
        return true
    }
}
