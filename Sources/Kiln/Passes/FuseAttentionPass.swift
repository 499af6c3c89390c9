/// Replaces multi-head attention as exporters write it with one ``KilnAttention`` node:
///
///     q = Transpose(Reshape(Q, [B, Sq, H, Dk]), [0, 2, 1, 3])       (optionally Mul by a scalar)
///     k = Transpose(Reshape(K, [B, Sk, H, Dk]), [0, 2, 3, 1])       (optionally Mul by a scalar;
///                                                                    or [0,2,1,3] then [0,1,3,2])
///     v = Transpose(Reshape(V, [B, Sk, H, Dv]), [0, 2, 1, 3])
///     s = MatMul(q, k)                        (optionally Div or Mul by a scalar)
///     p = Softmax(Add(s, mask), axis: -1)     (the mask Add is optional)
///     p' = Where(IsNaN(p), 0, p)              (optional: PyTorch's guard for fully masked rows)
///     y = MatMul(p', v)                       ([B, H, Sq, Dv])
///
/// becomes `y = KilnAttention(Q, K, V, mask)` with the scalars multiplied into its `scale`. The
/// head split must keep the batch and sequence dims of its input (the same symbols when they are
/// symbolic, from type inference) and split only the last one. The merge of the heads after `y`
/// stays as exported: after the mask's broadcast, inference no longer relates its symbolic dims to
/// the inputs', so nothing proves the merging Reshape right, and its Transpose is one cheap copy.
/// The rest of the subgraph is left for dead-node elimination, so a value read elsewhere (a `Shape`
/// of the transposed Q, say) is still computed.
public struct FuseAttentionPass: GraphPass {
    public let name = "fuse_attention"

    public init() {}

    public func run(_ graph: inout Graph) throws -> Int {
        var fired = 0
        for index in graph.nodes.indices where graph.nodes[index].opType == "Softmax" {
            if try fuse(softmaxAt: index, in: &graph) { fired += 1 }
        }
        return fired
    }

    private func fuse(softmaxAt index: Int, in graph: inout Graph) throws -> Bool {
        let softmax = graph.nodes[index]
        guard softmax.domain.isEmpty, softmax.inputs.count == 1, softmax.outputs.count == 1 else { return false }
        let axis = try softmax.int("axis", default: graph.opset < 13 ? 1 : -1)
        guard axis == -1 || axis == 3 else { return false }
        let match = AttentionMatcher(graph)

        // Backwards from the softmax: the mask Add, the scale, the scores product.
        var scores = softmax.inputs[0]
        var mask: String?
        if let add = match.producer(of: scores, opType: "Add") {
            for (scoreSide, maskSide) in [(0, 1), (1, 0)] {
                let candidate = add.inputs[scoreSide]
                if match.scoresProduct(candidate) != nil || match.scaled(candidate) != nil {
                    scores = candidate
                    mask = add.inputs[maskSide]
                    break
                }
            }
            guard let mask, match.isAdditiveMask(mask, for: scores) else { return false }
        }
        var scale: Float = 1
        if let (unscaled, factor) = match.scaled(scores) {
            scores = unscaled
            scale *= factor
        }
        guard let product = match.scoresProduct(scores), product.inputs.count == 2 else { return false }
        guard let query = match.heads(product.inputs[0], permutation: [0, 2, 1, 3], allowScale: true),
              let key = match.heads(product.inputs[1], permutation: [0, 2, 3, 1], allowScale: true) else { return false }
        scale *= query.scale * key.scale

        // Forwards from the softmax: the NaN guard, the product with V, the merge of the heads.
        var probabilities = softmax.outputs[0]
        var zeroNaNRows = false
        if let guarded = match.nanGuard(of: probabilities) {
            probabilities = guarded
            zeroNaNRows = true
        }
        guard let weighted = match.readers(of: probabilities).first(where: {
                  $0.opType == "MatMul" && $0.domain.isEmpty && $0.inputs.count == 2 && $0.inputs[0] == probabilities
              }),
              weighted.outputs.count == 1,
              let weightedIndex = graph.nodes.firstIndex(where: { $0.outputs == weighted.outputs }),
              let value = match.heads(weighted.inputs[1], permutation: [0, 2, 1, 3], allowScale: false) else { return false }

        // The three projections must agree on batch, sequences, heads and depths.
        guard query.batch == key.batch, key.batch == value.batch, key.sequence == value.sequence,
              query.heads == key.heads, key.heads == value.heads, query.depth == key.depth else { return false }
        let attributes: [String: Attribute] = [
            "num_heads": .int(query.heads), "scale": .float(scale), "zero_nan_rows": .int(zeroNaNRows ? 1 : 0),
        ]
        let fused = Node(name: graph.unusedName("\(softmax.name)_attention"), opType: KilnAttention.opType,
                         inputs: [query.packed, key.packed, value.packed] + (mask.map { [$0] } ?? []),
                         outputs: weighted.outputs, attributes: attributes)
        graph.nodes[weightedIndex] = fused
        for heads in [query, key, value] { readShapesBeforeTransposes(heads.transposes, in: &graph) }
        return true
    }

    /// Exporters read the shape of the transposed heads for later reshapes. `Shape(Transpose(x, p))`
    /// is `Gather(Shape(x), p)`: rewriting it so lets the transposes the fused node made unneeded
    /// die instead of running only to have their shape read.
    private func readShapesBeforeTransposes(_ transposes: [(output: String, permutation: [Int])], in graph: inout Graph) {
        let producers = graph.producers()
        var rewritten: [Node] = []
        for node in graph.nodes {
            guard node.opType == "Shape", node.domain.isEmpty, node.inputs.count == 1, node.outputs.count == 1,
                  node.attributes["start"] == nil, node.attributes["end"] == nil,
                  let transpose = transposes.first(where: { $0.output == node.inputs[0] }),
                  let transposeIndex = producers[transpose.output],
                  let indices = try? Tensor(shape: [4], scalars: transpose.permutation.map(Int64.init)) else {
                rewritten.append(node)
                continue
            }
            let sourceShape = graph.unusedName("\(node.name)_before_transpose")
            let indicesName = graph.unusedName("\(node.name)_permutation")
            graph.initializers[indicesName] = indices
            rewritten.append(Node(name: sourceShape, opType: "Shape", inputs: [graph.nodes[transposeIndex].inputs[0]],
                                  outputs: [sourceShape]))
            rewritten.append(Node(name: graph.unusedName("\(node.name)_gather"), opType: "Gather",
                                  inputs: [sourceShape, indicesName], outputs: node.outputs, attributes: ["axis": .int(0)]))
        }
        graph.nodes = rewritten
    }
}

/// Lookups for ``FuseAttentionPass``.
private struct AttentionMatcher {
    let graph: Graph
    let producers: [String: Int]
    let consumers: [String: [Int]]

    init(_ graph: Graph) {
        self.graph = graph
        producers = graph.producers()
        consumers = graph.consumers()
    }

    func producer(of value: String, opType: String) -> Node? {
        guard let index = producers[value], graph.nodes[index].opType == opType, graph.nodes[index].domain.isEmpty,
              graph.nodes[index].outputs.count == 1 else { return nil }
        return graph.nodes[index]
    }

    func readers(of value: String) -> [Node] {
        (consumers[value] ?? []).map { graph.nodes[$0] }
    }

    /// A 4-D float32 `MatMul` producing `value`.
    func scoresProduct(_ value: String) -> Node? {
        guard let node = producer(of: value, opType: "MatMul"), graph.rank(value) == 4,
              graph.valueTypes[value]?.dtype == .float32 else { return nil }
        return node
    }

    /// Whether `mask` can be the additive mask of `scores`: float32, rank at most 4 when known, and
    /// not widening the scores where both dims are known. (Where inference does not know, the kernel
    /// checks at run time that the mask broadcasts to the scores and fails otherwise.)
    func isAdditiveMask(_ mask: String, for scores: String) -> Bool {
        guard graph.valueTypes[mask]?.dtype == .float32 else { return false }
        guard let maskShape = graph.valueTypes[mask]?.shape else { return true }
        guard maskShape.count <= 4, let scoreShape = graph.valueTypes[scores]?.shape, scoreShape.count == 4 else { return false }
        for (dim, target) in zip(maskShape.reversed(), scoreShape.reversed()) {
            if let size = dim.value, size != 1, let targetSize = target.value, size != targetSize { return false }
        }
        return true
    }

    /// `(x, factor)` when `value = x * factor` or `x / (1 / factor)` with a scalar constant.
    func scaled(_ value: String) -> (String, Float)? {
        if let div = producer(of: value, opType: "Div"), div.inputs.count == 2,
           let divisor = graph.scalarConstant(div.inputs[1]), divisor != 0, divisor.isFinite {
            return (div.inputs[0], 1 / divisor)
        }
        if let mul = producer(of: value, opType: "Mul"), mul.inputs.count == 2 {
            if let factor = graph.scalarConstant(mul.inputs[1]), factor.isFinite { return (mul.inputs[0], factor) }
            if let factor = graph.scalarConstant(mul.inputs[0]), factor.isFinite { return (mul.inputs[1], factor) }
        }
        return nil
    }

    /// The value read instead of `probabilities` after `Where(IsNaN(p), 0, p)`, when that guard
    /// is the only other use of `p`.
    func nanGuard(of probabilities: String) -> String? {
        let readers = readers(of: probabilities)
        guard readers.count == 2, !graph.isGraphOutput(probabilities),
              let isNaN = readers.first(where: { $0.opType == "IsNaN" && $0.domain.isEmpty }),
              let select = readers.first(where: { $0.opType == "Where" && $0.domain.isEmpty }),
              isNaN.outputs.count == 1, select.inputs.count == 3, select.outputs.count == 1,
              select.inputs[0] == isNaN.outputs[0], select.inputs[2] == probabilities,
              graph.scalarConstant(select.inputs[1]) == 0 else { return nil }
        return select.outputs[0]
    }

    struct Heads {
        /// The `[B, S, H * D]` value the heads were split from.
        var packed: String
        var batch: Dim
        var sequence: Dim
        var heads: Int
        var depth: Int
        var scale: Float
        /// The `Transpose` nodes on the way, as (output, permutation).
        var transposes: [(output: String, permutation: [Int])]
    }

    /// Follows `value` back through an optional scalar `Mul` and `Transpose`s (whose permutations
    /// compose to `permutation`) to a `Reshape` that splits the last dim of a 3-D value into heads.
    func heads(_ value: String, permutation: [Int], allowScale: Bool) -> Heads? {
        var current = value
        var scale: Float = 1
        if allowScale, producer(of: current, opType: "Mul") != nil, let (unscaled, factor) = scaled(current) {
            current = unscaled
            scale = factor
        }
        // Permutations from the split heads [B, S, H, D] to `value`, innermost first.
        var composed = [0, 1, 2, 3]
        var transposes: [(output: String, permutation: [Int])] = []
        while let transpose = producer(of: current, opType: "Transpose") {
            guard let perm = (try? transpose.ints("perm")) ?? nil, perm.count == 4,
                  perm.sorted() == [0, 1, 2, 3] else { return nil }
            // value[i] = input[perm[i]]; composing with what is already applied after it.
            composed = composed.map { perm[$0] }
            transposes.append((current, perm))
            current = transpose.inputs[0]
        }
        guard composed == permutation, let reshape = producer(of: current, opType: "Reshape"),
              let split = graph.valueTypes[current]?.shape, split.count == 4,
              let source = graph.valueTypes[reshape.inputs[0]]?.shape, source.count == 3,
              graph.valueTypes[reshape.inputs[0]]?.dtype == .float32,
              split[0] == source[0], split[1] == source[1],
              let heads = split[2].value, let depth = split[3].value, heads > 0, depth > 0 else { return nil }
        if let width = source[2].value, width != heads * depth { return nil }
        return Heads(packed: reshape.inputs[0], batch: source[0], sequence: source[1], heads: heads, depth: depth,
                     scale: scale, transposes: transposes)
    }
}
