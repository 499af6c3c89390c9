/// Moves a residual `Add` into the float32 `Conv` or `MatMul` producing one of its operands:
/// `Add(Conv(x, w, b), z)` becomes `Conv(x, w, b, z)` with the Kiln-internal attribute
/// `kiln_residual = 1`, which computes `conv(x, w) + b + z` while each block of output is still in
/// cache (the GEMM paths start the product from `z + b` at no cost). Run before
/// ``FuseActivationPass``, the `Relu` of a ResNet block then fuses too, so `Conv → Add → Relu` becomes
/// one node and the output is written once, not three times. A transformer's `MatMul (+ bias) → Add`
/// before each LayerNormalization becomes `MatMul(a, w, bias, z)` the same way (the bias slot is
/// empty when there is none).
///
/// Applies when the Conv's output is read only by the Add, the Conv has no fused activation yet
/// (the activation must come after the sum), `z` has exactly the Add's output shape (no
/// broadcasting) and `z` is computed before the Conv runs. When both operands are Convs (a
/// downsampling block), the later one absorbs the Add so the other's output is ready.
public struct FuseResidualAddPass: GraphPass {
    public let name = "fuse_residual_add"

    /// Marks a `Conv` or `MatMul` whose fourth input is a residual added to its output.
    package static let attributeName = "kiln_residual"

    public init() {}

    public func run(_ graph: inout Graph) throws -> Int {
        var fired = 0
        var index = 0
        while index < graph.nodes.count {
            if fuse(at: index, in: &graph) { fired += 1 } else { index += 1 }
        }
        return fired
    }

    private func fuse(at index: Int, in graph: inout Graph) -> Bool {
        let add = graph.nodes[index]
        guard add.domain.isEmpty, add.opType == "Add", add.inputs.count == 2, add.outputs.count == 1,
              !add.inputs.contains(""), add.inputs[0] != add.inputs[1],
              let outputShape = graph.valueTypes[add.outputs[0]]?.shape,
              graph.valueTypes[add.outputs[0]]?.dtype == .float32 else { return false }
        let producers = graph.producers()
        let uses = graph.useCounts()
        // Latest producer first: its operand partner is then already computed.
        let candidates = [0, 1].sorted { (producers[add.inputs[$0]] ?? -1) > (producers[add.inputs[$1]] ?? -1) }
        for position in candidates {
            let source = add.inputs[position], residual = add.inputs[1 - position]
            guard let convIndex = producers[source], uses[source] == 1, !graph.isGraphOutput(source),
                  graph.valueTypes[residual]?.shape == outputShape,
                  graph.valueTypes[source]?.shape == outputShape,
                  (producers[residual] ?? -1) < convIndex else { continue }
            var conv = graph.nodes[convIndex]
            guard conv.domain.isEmpty, ["Conv", "MatMul"].contains(conv.opType), conv.outputs.count == 1,
                  conv.inputs.count <= 3,
                  conv.attributes[FusedActivation.attributeName] == nil,
                  conv.attributes[Self.attributeName] == nil else { continue }
            while conv.inputs.count < 3 { conv.inputs.append("") }
            conv.inputs.append(residual)
            conv.attributes[Self.attributeName] = .int(1)
            conv.outputs[0] = add.outputs[0]
            graph.nodes[convIndex] = conv
            graph.nodes.remove(at: index)
            return true
        }
        return false
    }
}
