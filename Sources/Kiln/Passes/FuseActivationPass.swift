/// Moves an activation (`Relu`, `Clip` with constant bounds, `Sigmoid`, `Tanh`, `LeakyRelu`, `Gelu`)
/// into the float32 `Conv`, `Gemm` or `MatMul` producing its input, as the Kiln-internal
/// `kiln_activation` attribute (see ``FusedActivation``). Applies when the activation is the
/// producer's only reader. For a transformer's feed-forward `MatMul (+ bias) → Gelu`, the Gelu then
/// runs on each block of the product while it is still in cache.
public struct FuseActivationPass: GraphPass {
    public let name = "fuse_activation"

    public init() {}

    public func run(_ graph: inout Graph) throws -> Int {
        var fired = 0
        var index = 0
        while index < graph.nodes.count {
            if try fuse(at: index, in: &graph) { fired += 1 } else { index += 1 }
        }
        return fired
    }

    private func fuse(at index: Int, in graph: inout Graph) throws -> Bool {
        let node = graph.nodes[index]
        guard node.domain.isEmpty, let source = node.inputs.first, !source.isEmpty, node.outputs.count == 1,
              let activation = try activation(of: node, graph: graph),
              let producerIndex = graph.producers()[source], graph.useCounts()[source] == 1,
              !graph.isGraphOutput(source) else { return false }
        var producer = graph.nodes[producerIndex]
        guard producer.domain.isEmpty, ["Conv", "Gemm", "MatMul"].contains(producer.opType), producer.outputs.count == 1,
              producer.attributes[FusedActivation.attributeName] == nil,
              graph.valueTypes[source]?.dtype == .float32 else { return false }
        producer.attributes.merge(activation.attributes) { _, new in new }
        producer.outputs[0] = node.outputs[0]
        graph.nodes[producerIndex] = producer
        graph.nodes.remove(at: index)
        return true
    }

    private func activation(of node: Node, graph: Graph) throws -> FusedActivation? {
        switch node.opType {
        case "Relu": return .relu
        case "Sigmoid": return .sigmoid
        case "Tanh": return .tanh
        case "LeakyRelu": return .leakyRelu(alpha: try node.float("alpha", default: 0.01))
        case "Gelu":
            switch try node.string("approximate", default: "none") {
            case "none": return .gelu
            case "tanh": return .geluTanh
            default: return nil
            }
        case "Clip":
            if graph.opset < 11 {
                return .clip(low: try node.float("min", default: -Float.greatestFiniteMagnitude),
                             high: try node.float("max", default: Float.greatestFiniteMagnitude))
            }
            func bound(_ position: Int, _ fallback: Float) -> Float? {
                guard node.inputs.count > position, !node.inputs[position].isEmpty else { return fallback }
                return graph.scalarConstant(node.inputs[position])
            }
            guard let low = bound(1, -Float.greatestFiniteMagnitude), let high = bound(2, Float.greatestFiniteMagnitude)
            else { return nil }
            return .clip(low: low, high: high)
        default:
            return nil
        }
    }
}
