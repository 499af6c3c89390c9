/// Turns `Add(MatMul(A, W), b)` into `Gemm(A, W, b)` when `A` is 2-D, `W` a 2-D float32 initializer
/// and `b` a float32 initializer over the last dim (`[N]` or `[1, N]`), so the bias is written
/// before `sgemm` accumulates instead of in a second pass. A higher-rank `A` (a transformer's
/// `[batch, seq, K]`) becomes `MatMul(A, W, b)` with the Kiln-internal `kiln_bias = 1`, the same
/// fusion without Gemm's 2-D restriction.
public struct MatMulAddToGemmPass: GraphPass {
    public let name = "matmul_add_to_gemm"

    public init() {}

    public func run(_ graph: inout Graph) throws -> Int {
        var fired = 0
        var index = 0
        while index < graph.nodes.count {
            if rewrite(at: index, in: &graph) { fired += 1 } else { index += 1 }
        }
        return fired
    }

    private func rewrite(at index: Int, in graph: inout Graph) -> Bool {
        let add = graph.nodes[index]
        guard add.opType == "Add", add.domain.isEmpty, add.inputs.count == 2, add.outputs.count == 1 else { return false }
        let producers = graph.producers(), uses = graph.useCounts()
        for (productSide, biasSide) in [(0, 1), (1, 0)] {
            let product = add.inputs[productSide], biasName = add.inputs[biasSide]
            guard let producerIndex = producers[product], uses[product] == 1, !graph.isGraphOutput(product) else { continue }
            let matmul = graph.nodes[producerIndex]
            guard matmul.opType == "MatMul", matmul.domain.isEmpty, matmul.inputs.count == 2,
                  matmul.attributes[FusedActivation.attributeName] == nil,
                  let rank = graph.rank(matmul.inputs[0]), rank >= 2, graph.valueTypes[product]?.dtype == .float32,
                  let weights = graph.constant(matmul.inputs[1]), weights.dtype == .float32, weights.shape.count == 2,
                  let bias = graph.constant(biasName), bias.dtype == .float32 else { continue }
            let columns = weights.shape[1]
            guard bias.shape == [columns] || (rank == 2 && bias.shape == [1, columns]) else { continue }
            if rank == 2 {
                graph.nodes[producerIndex] = Node(name: matmul.name, opType: "Gemm",
                                                  inputs: [matmul.inputs[0], matmul.inputs[1], biasName],
                                                  outputs: add.outputs)
            } else {
                graph.nodes[producerIndex] = Node(name: matmul.name, opType: "MatMul",
                                                  inputs: [matmul.inputs[0], matmul.inputs[1], biasName],
                                                  outputs: add.outputs, attributes: [MatMul.biasAttributeName: .int(1)])
            }
            graph.nodes.remove(at: index)
            return true
        }
        return false
    }
}
