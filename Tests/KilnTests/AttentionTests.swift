import Kiln
import KilnTestSupport
import Testing

/// The fused attention operator against its scalar reference, and the pass that writes it.
@Suite struct AttentionKernelTests {
    private static func node(heads: Int, scale: Float? = nil, zeroNaNRows: Bool = false, mask: Bool) -> Node {
        var attributes: [String: Attribute] = ["num_heads": .int(heads), "zero_nan_rows": .int(zeroNaNRows ? 1 : 0)]
        if let scale { attributes["scale"] = .float(scale) }
        return Node(name: "attention", opType: "KilnAttention", inputs: mask ? ["q", "k", "v", "m"] : ["q", "k", "v"],
                    outputs: ["y"], attributes: attributes)
    }

    /// Runs the operator and the reference on the same random tensors and compares them.
    private static func check(batch: Int, heads: Int, querySequence: Int, keySequence: Int, keyDepth: Int, valueDepth: Int,
                              maskShape: [Int]?, threads: Int = 2, blockScores: Int = AttentionKernels.blockScores,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let seed = UInt64(batch * 1_000 + heads * 100 + querySequence * 10 + keySequence + keyDepth * 7 + valueDepth * 13)
        let q = NeuralNetworkTesting.random([batch, querySequence, heads * keyDepth], seed: seed, in: -2...2)
        let k = NeuralNetworkTesting.random([batch, keySequence, heads * keyDepth], seed: seed + 1, in: -2...2)
        let v = NeuralNetworkTesting.random([batch, keySequence, heads * valueDepth], seed: seed + 2)
        let mask = maskShape.map { NeuralNetworkTesting.random($0, seed: seed + 3, in: -4...0) }
        let scale: Float = 0.37
        let op = try KilnAttention(node: node(heads: heads, scale: scale, mask: mask != nil), opset: 17)
        let actual = try op.evaluate([q, k, v, mask], context: ExecutionContext(threads: threads), blockScores: blockScores)
        #expect(actual.shape == [batch, heads, querySequence, valueDepth], sourceLocation: sourceLocation)

        let expected = try Tensor.uninitialized(.float32, shape: [batch, heads, querySequence, valueDepth])
        var geometry = AttentionGeometry(batch: batch, heads: heads, querySequence: querySequence, keySequence: keySequence,
                                         keyDepth: keyDepth, valueDepth: valueDepth, scale: scale)
        if let mask { geometry.maskStrides = try KilnAttention.maskStrides(mask.shape, geometry) }
        q.withUnsafePointer(as: Float.self) { q in
            k.withUnsafePointer(as: Float.self) { k in
                v.withUnsafePointer(as: Float.self) { v in
                    expected.withUnsafeMutablePointer(as: Float.self) { y in
                        if let mask {
                            mask.withUnsafePointer(as: Float.self) { m in
                                AttentionKernels.reference(query: q, key: k, value: v, mask: m, output: y, geometry: geometry)
                            }
                        } else {
                            AttentionKernels.reference(query: q, key: k, value: v, mask: nil, output: y, geometry: geometry)
                        }
                    }
                }
            }
        }
        let comparison = Comparison.compare(actual, expected, rtol: 1e-4, atol: 1e-5)
        #expect(comparison.isClose, "B\(batch) H\(heads) Sq\(querySequence) Sk\(keySequence) D\(keyDepth)/\(valueDepth) mask \(String(describing: maskShape)): \(comparison)",
                sourceLocation: sourceLocation)
    }

    @Test(arguments: [0, 1, 7, 8, 9, 15, 16, 17, 33])
    func matchesReferenceOverKeyLengths(keySequence: Int) throws {
        for querySequence in [1, 7, 9] {
            try Self.check(batch: 2, heads: 3, querySequence: querySequence, keySequence: keySequence, keyDepth: 5,
                           valueDepth: 7, maskShape: [2, 1, 1, keySequence])
        }
    }

    @Test(arguments: [[Int]?.none, [1], [17], [1, 17], [9, 17], [2, 1, 9, 17], [2, 3, 9, 17], [1, 3, 1, 1]])
    func matchesReferenceOverMaskBroadcasts(maskShape: [Int]?) throws {
        try Self.check(batch: 2, heads: 3, querySequence: 9, keySequence: 17, keyDepth: 8, valueDepth: 4, maskShape: maskShape)
    }

    @Test(arguments: [1, 4, 8, 16, 31, 32, 33])
    func matchesReferenceOverDepths(depth: Int) throws {
        try Self.check(batch: 1, heads: 2, querySequence: 8, keySequence: 16, keyDepth: depth, valueDepth: depth, maskShape: nil)
    }

    @Test(arguments: [1, 2, 3])
    func blocksOfQueryRowsGiveTheSameResult(threads: Int) throws {
        // 20 scores per block: 1 row of 17 keys at a time, so every row is its own work item.
        try Self.check(batch: 2, heads: 2, querySequence: 9, keySequence: 17, keyDepth: 4, valueDepth: 3,
                       maskShape: [2, 1, 9, 17], threads: threads, blockScores: 20)
        try Self.check(batch: 1, heads: 1, querySequence: 33, keySequence: 7, keyDepth: 4, valueDepth: 3,
                       maskShape: [7], threads: threads, blockScores: 50)
    }

    @Test func emptyBatchAndEmptyQueriesGiveEmptyOutputs() throws {
        try Self.check(batch: 0, heads: 2, querySequence: 3, keySequence: 4, keyDepth: 2, valueDepth: 2, maskShape: nil)
        try Self.check(batch: 2, heads: 2, querySequence: 0, keySequence: 4, keyDepth: 2, valueDepth: 2, maskShape: [4])
    }

    @Test func fullyMaskedRowsAreZerosOnlyWhenAsked() throws {
        let q = NeuralNetworkTesting.random([1, 2, 4], seed: 1)
        let k = NeuralNetworkTesting.random([1, 3, 4], seed: 2)
        let v = NeuralNetworkTesting.random([1, 3, 4], seed: 3)
        // Query row 1 sees no key; row 0 sees keys 0 and 2. Output [1, 2 heads, 2 rows, 2].
        let mask = try Tensor(shape: [1, 1, 2, 3], scalars: [0, -.infinity, 0, -.infinity, -.infinity, -.infinity] as [Float])
        for zero in [false, true] {
            let op = try KilnAttention(node: Self.node(heads: 2, zeroNaNRows: zero, mask: true), opset: 17)
            let y = try op.run([q, k, v, mask], context: ExecutionContext(threads: 1))[0].floats()
            for head in 0..<2 {
                #expect(y[(head * 4)..<(head * 4 + 2)].allSatisfy { $0.isFinite })
                #expect(y[(head * 4 + 2)..<(head * 4 + 4)].allSatisfy { zero ? $0 == 0 : $0.isNaN })
            }
        }
    }

    @Test func defaultScaleIsOneOverSquareRootOfDepth() throws {
        let q = NeuralNetworkTesting.random([1, 3, 8], seed: 4), k = NeuralNetworkTesting.random([1, 5, 8], seed: 5)
        let v = NeuralNetworkTesting.random([1, 5, 6], seed: 6)
        let context = ExecutionContext(threads: 1)
        let implicit = try KilnAttention(node: Self.node(heads: 2, mask: false), opset: 17).run([q, k, v], context: context)[0]
        let explicit = try KilnAttention(node: Self.node(heads: 2, scale: 0.5, mask: false), opset: 17).run([q, k, v], context: context)[0]
        #expect(implicit.floats() == explicit.floats())
    }

    @Test func rejectsShapesThatDoNotFitTheHeads() throws {
        let op = try KilnAttention(node: Self.node(heads: 3, mask: true), opset: 17)
        let context = ExecutionContext(threads: 1)
        let q = NeuralNetworkTesting.random([1, 2, 6], seed: 1), v = NeuralNetworkTesting.random([1, 4, 3], seed: 2)
        let k = NeuralNetworkTesting.random([1, 4, 6], seed: 3)
        #expect(throws: OperatorError.self) { try op.run([NeuralNetworkTesting.random([1, 2, 4], seed: 1), k, v, nil], context: context) }
        #expect(throws: OperatorError.self) { try op.run([q, NeuralNetworkTesting.random([1, 3, 6], seed: 1), v, nil], context: context) }
        #expect(throws: OperatorError.self) { try op.run([q, k, v, NeuralNetworkTesting.random([2, 1, 2, 4], seed: 1)], context: context) }
        #expect(throws: OperatorError.self) { try op.run([q, k, v, NeuralNetworkTesting.random([3], seed: 1)], context: context) }
        #expect(throws: (any Error).self) { try KilnAttention(node: Self.node(heads: 0, mask: false), opset: 17) }
    }
}

@Suite struct PassAttentionTests {
    /// The attention block as `torch.onnx.export` writes BERT's SDPA path, on static shapes:
    /// heads split by Reshape + Transpose, Q and K each scaled by a fourth root, mask Add, Softmax,
    /// the IsNaN guard, product with V, heads merged back.
    private static func exportedAttention(batch: Int = 2, sequence: Int = 5, heads: Int = 3, depth: Int = 4,
                                          scaleScores: Bool = false, guardNaN: Bool = true,
                                          keyTransposes: [[Int]] = [[0, 2, 3, 1]]) -> GraphBuilder {
        var b = GraphBuilder(opset: 17)
        let width = heads * depth
        let x = b.input("x", .float32, [.fixed(batch), .fixed(sequence), .fixed(width)])
        let mask = b.input("mask", .float32, [.fixed(batch), 1, 1, .fixed(sequence)])
        func projection(_ seed: UInt64) -> String {
            b.node("MatMul", [x, b.constant(PassTesting.random([width, width], seed: seed))])
        }
        let split = b.constant(try! Tensor(shape: [4], scalars: [batch, sequence, heads, depth].map(Int64.init)))
        let quarter = b.constant(PassTesting.tensor([], [1 / Float(depth).squareRoot().squareRoot()]))
        var q = b.node("Transpose", [b.node("Reshape", [projection(1), split])], attributes: ["perm": .ints([0, 2, 1, 3])])
        var k = b.node("Reshape", [projection(2), split])
        for perm in keyTransposes { k = b.node("Transpose", [k], attributes: ["perm": .ints(perm)]) }
        let v = b.node("Transpose", [b.node("Reshape", [projection(3), split])], attributes: ["perm": .ints([0, 2, 1, 3])])
        if !scaleScores {
            q = b.node("Mul", [q, quarter])
            k = b.node("Mul", [k, quarter])
        }
        var scores = b.node("MatMul", [q, k])
        if scaleScores { scores = b.node("Div", [scores, b.constant(PassTesting.tensor([], [Float(depth).squareRoot()]))]) }
        var p = b.node("Softmax", [b.node("Add", [scores, mask])], attributes: ["axis": .int(-1)])
        if guardNaN {
            p = b.node("Where", [b.node("IsNaN", [p]), b.constant(PassTesting.tensor([], [0])), p])
        }
        let merged = b.node("Transpose", [b.node("MatMul", [p, v])], attributes: ["perm": .ints([0, 2, 1, 3])])
        let packed = b.constant(try! Tensor(shape: [3], scalars: [batch, sequence, width].map(Int64.init)))
        b.output(b.node("Reshape", [merged, packed]), as: "y")
        return b
    }

    private static func fusedAttention(in graph: Graph) -> Node? { graph.nodes.first { $0.opType == "KilnAttention" } }

    @Test func fusesTheScaledQueryAndKeyForm() throws {
        let (graph, fired) = try PassTesting.apply(FuseAttentionPass(), to: Self.exportedAttention().build())
        #expect(fired == 1)
        let fused = try #require(Self.fusedAttention(in: graph))
        #expect(try fused.int("num_heads") == 3)
        #expect(try fused.int("zero_nan_rows") == 1)
        #expect(try fused.float("scale").map { abs($0 - 0.5) < 1e-6 } == true)
        #expect(fused.inputs.count == 4 && fused.inputs[3] == "mask")
        var cleaned = graph
        _ = try DeadNodeEliminationPass().run(&cleaned)
        #expect(Set(cleaned.nodes.map(\.opType)) == ["MatMul", "KilnAttention", "Transpose", "Reshape", "Identity"])
        #expect(PassTesting.count("MatMul", in: cleaned) == 3)
    }

    @Test func fusesTheDividedScoresFormWithTwoKeyTransposes() throws {
        let builder = Self.exportedAttention(scaleScores: true, guardNaN: false, keyTransposes: [[0, 2, 1, 3], [0, 1, 3, 2]])
        let (graph, fired) = try PassTesting.apply(FuseAttentionPass(), to: builder.build())
        #expect(fired == 1)
        let fused = try #require(Self.fusedAttention(in: graph))
        #expect(try fused.int("zero_nan_rows") == 0)
        #expect(try fused.float("scale").map { abs($0 - 0.5) < 1e-6 } == true)
    }

    @Test func wrongKeyPermutationIsNotFused() throws {
        // Q K with K not transposed only type-checks when the sequence equals the depth.
        let square = Self.exportedAttention(sequence: 4, keyTransposes: [[0, 2, 1, 3]])
        let (_, fired) = try PassTesting.apply(FuseAttentionPass(), to: square.build())
        #expect(fired == 0)
    }

    @Test func softmaxOverAnotherAxisIsNotFused() throws {
        var graph = try Self.exportedAttention().build()
        let index = try #require(graph.nodes.firstIndex { $0.opType == "Softmax" })
        graph.nodes[index].attributes["axis"] = .int(2)
        let (_, fired) = try PassTesting.apply(FuseAttentionPass(), to: graph)
        #expect(fired == 0)
    }
}
