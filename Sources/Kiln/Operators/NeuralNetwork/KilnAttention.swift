import Synchronization

/// `KilnAttention` (Kiln-internal, not ONNX; written by ``FuseAttentionPass``): multi-head scaled
/// dot-product attention reading the heads packed in the last dim, as the Q, K and V projections of
/// a transformer produce them:
///
///     output[b, h, i, :] = softmax_j(scale * Q[b, i, h] . K[b, j, h] + mask[b, h, i, j]) V[b, j, h]
///
/// - Inputs: `Q [B, Sq, H*Dk]`, `K [B, Sk, H*Dk]`, `V [B, Sk, H*Dv]`, optional additive `mask`
///   (float32, rank <= 4, broadcasting to `[B, H, Sq, Sk]`).
/// - Attributes: `num_heads` (required), `scale` (default `1/sqrt(Dk)`), `zero_nan_rows` (0 or 1,
///   default 0: 1 turns rows whose softmax is NaN, e.g. every key masked with -inf, into zeros).
/// - Output: `[B, H, Sq, Dv]`, the layout of the per-head product it replaces.
///
/// This is the exported subgraph `Reshape/Transpose` of Q, K and V into heads, `MatMul`, scale,
/// mask `Add`, `Softmax` and `MatMul` with V as one node: each head is read in place as a strided
/// matrix, and the scores of a block of query rows stay in cache from the first product to the
/// second.
package struct KilnAttention: Operator {
    package static let opType = "KilnAttention"

    package let heads: Int
    package let scale: Float?
    package let zeroNaNRows: Bool

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 3...4)
        guard let heads = try node.int("num_heads") else { throw OperatorError("attribute num_heads is required") }
        guard heads >= 1 else { throw OperatorError("num_heads must be at least 1, got \(heads)") }
        self.heads = heads
        scale = try node.float("scale")
        if let scale, !scale.isFinite { throw OperatorError("scale must be finite, got \(scale)") }
        let zero = try node.int("zero_nan_rows", default: 0)
        guard zero == 0 || zero == 1 else { throw OperatorError("zero_nan_rows must be 0 or 1, got \(zero)") }
        zeroNaNRows = zero == 1
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let types = try (0..<3).map { try ShapeInference.requireType(inputs, $0) }
        let mask = inputs.count > 3 && inputs[3].isPresent ? try ShapeInference.requireType(inputs, 3) : nil
        for type in types + [mask].compactMap({ $0 }) where type.dtype != .float32 {
            throw OperatorError("KilnAttention supports float32, got \(type.dtype)")
        }
        if let rank = mask?.rank, rank > 4 { throw OperatorError("mask must have rank <= 4, has rank \(rank)") }
        guard let query = types[0].shape, let key = types[1].shape, let value = types[2].shape else {
            return [TensorType(.float32, nil)]
        }
        for (name, shape) in [("Q", query), ("K", key), ("V", value)] {
            guard shape.count == 3 else { throw OperatorError("\(name) must be [batch, sequence, heads * depth], has shape \(shape.map(\.description))") }
            if let width = shape[2].value, width % heads != 0 {
                throw OperatorError("\(name)'s last dim \(width) is not a multiple of num_heads \(heads)")
            }
        }
        if let q = query[2].value, let k = key[2].value, q != k {
            throw OperatorError("Q and K differ in their last dim: \(q) and \(k)")
        }
        if let k = key[1].value, let v = value[1].value, k != v {
            throw OperatorError("K and V differ in sequence length: \(k) and \(v)")
        }
        let depth = value[2].value.map { Dim.fixed($0 / heads) } ?? symbols.fresh()
        return [TensorType(.float32, [query[0], .fixed(heads), query[1], depth])]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        [try evaluate(inputs, context: context)]
    }

    /// The output; `blockScores` bounds the scores of one block (tests make it small to exercise
    /// the splitting of long sequences).
    package func evaluate(_ inputs: [Tensor?], context: ExecutionContext,
                          blockScores: Int = AttentionKernels.blockScores) throws -> Tensor {
        guard let query = inputs[0], let key = inputs[1], let value = inputs[2] else {
            throw OperatorError("inputs Q, K and V are required")
        }
        let mask = inputs.count > 3 ? inputs[3] : nil
        for tensor in [query, key, value, mask] where tensor != nil && tensor?.dtype != .float32 {
            throw OperatorError("KilnAttention supports float32, got \(tensor!.dtype)")
        }
        guard query.rank == 3, key.rank == 3, value.rank == 3 else {
            throw OperatorError("Q, K and V must have rank 3, have shapes \(query.shape), \(key.shape), \(value.shape)")
        }
        let batch = query.shape[0], querySequence = query.shape[1], keySequence = key.shape[1]
        guard key.shape[0] == batch, value.shape[0] == batch, value.shape[1] == keySequence, key.shape[2] == query.shape[2],
              query.shape[2] % heads == 0, value.shape[2] % heads == 0 else {
            throw OperatorError("Q \(query.shape), K \(key.shape) and V \(value.shape) do not fit \(heads) heads")
        }
        let keyDepth = query.shape[2] / heads
        var geometry = AttentionGeometry(
            batch: batch, heads: heads, querySequence: querySequence, keySequence: keySequence, keyDepth: keyDepth,
            valueDepth: value.shape[2] / heads, scale: scale ?? 1 / Float(max(keyDepth, 1)).squareRoot(),
            zeroNaNRows: zeroNaNRows)
        if let mask { geometry.maskStrides = try Self.maskStrides(mask.shape, geometry) }
        let output = try Tensor.uninitialized(.float32, shape: [batch, heads, querySequence, value.shape[2] / heads])
        guard output.count > 0 else { return output }
        guard keySequence > 0 else {
            // No keys: every softmax is over an empty row, so every weighted sum is empty.
            output.withUnsafeMutablePointer(as: Float.self) { $0.update(repeating: 0, count: output.count) }
            return output
        }
        try query.withUnsafePointer(as: Float.self) { q in
            try key.withUnsafePointer(as: Float.self) { k in
                try value.withUnsafePointer(as: Float.self) { v in
                    try output.withUnsafeMutablePointer(as: Float.self) { y in
                        if let mask {
                            try mask.withUnsafePointer(as: Float.self) { m in
                                try Self.evaluate(q, k, v, m, y, geometry, blockScores: blockScores, context: context)
                            }
                        } else {
                            try Self.evaluate(q, k, v, nil, y, geometry, blockScores: blockScores, context: context)
                        }
                    }
                }
            }
        }
        return output
    }

    /// Strides of a mask of `shape` broadcast to `[B, H, Sq, Sk]`.
    package static func maskStrides(_ shape: [Int], _ g: AttentionGeometry) throws -> (batch: Int, head: Int, row: Int, column: Int) {
        guard shape.count <= 4 else { throw OperatorError("mask must have rank <= 4, has shape \(shape)") }
        let target = [g.batch, g.heads, g.querySequence, g.keySequence]
        let padded = Array(repeating: 1, count: 4 - shape.count) + shape
        var strides = [0, 0, 0, 0]
        var running = 1
        for axis in stride(from: 3, through: 0, by: -1) {
            guard padded[axis] == target[axis] || padded[axis] == 1 else {
                throw OperatorError("mask of shape \(shape) does not broadcast to \(target)")
            }
            strides[axis] = padded[axis] == 1 ? 0 : running
            running *= padded[axis]
        }
        return (strides[0], strides[1], strides[2], strides[3])
    }

    /// Splits the work into (batch, head, block of query rows) items across the session's threads.
    private static func evaluate(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                                 _ mask: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>,
                                 _ g: AttentionGeometry, blockScores: Int, context: ExecutionContext) throws {
        var rowsPerBlock = AttentionKernels.rowsPerBlock(g, blockScores: blockScores)
        if context.threads > 1 {
            // OpenBLAS runs a product on its own thread pool above about 2^18 multiply-adds
            // (GEMM_MULTITHREAD_THRESHOLD), and serializes such calls made from several threads at
            // once. Blocks at most that large run on the calling thread, so the session's threads
            // each work through their own blocks in parallel.
            let work = g.keySequence * max(g.keyDepth, g.valueDepth, 1)
            rowsPerBlock = max(1, min(rowsPerBlock, AttentionKernels.singleThreadedProduct / max(work, 1)))
        }
        let blocksPerHead = (g.querySequence + rowsPerBlock - 1) / rowsPerBlock
        let items = g.batch * g.heads * blocksPerHead
        let failure = Mutex<(any Error)?>(nil)
        // One block of scores per thread, taken on the calling thread so a planned run serves it
        // from its arena.
        let scratchCount = max(1, rowsPerBlock * g.keySequence)
        let scratchBase = try KernelScratch.floats(rows: context.threads, columns: scratchCount, purpose: "attention scores")
        defer { KernelScratch.release(scratchBase) }
        context.parallelChunks(items) { participant, range in
            let scratch = scratchBase + participant * scratchCount
            for item in range {
                let block = item % blocksPerHead, head = (item / blocksPerHead) % g.heads
                let batch = item / (blocksPerHead * g.heads)
                let start = block * rowsPerBlock
                do {
                    try AttentionKernels.block(query: q, key: k, value: v, mask: mask, output: y, geometry: g, batch: batch,
                                               head: head, rows: start..<min(g.querySequence, start + rowsPerBlock),
                                               scratch: scratch)
                } catch {
                    failure.withLock { $0 = $0 ?? error }
                    return
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }
}
