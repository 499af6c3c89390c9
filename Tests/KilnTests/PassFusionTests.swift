import Kiln
import Testing

@Suite struct PassBatchNormTests {
    private static func addNorm(_ builder: inout GraphBuilder, _ input: String, channels: Int, seed: UInt64) -> String {
        let gamma = builder.constant(PassTesting.random([channels], seed: seed, in: 0.5...1.5))
        let beta = builder.constant(PassTesting.random([channels], seed: seed + 1))
        let mean = builder.constant(PassTesting.random([channels], seed: seed + 2))
        let variance = builder.constant(PassTesting.random([channels], seed: seed + 3, in: 0.2...2))
        return builder.node("BatchNormalization", [input, gamma, beta, mean, variance], attributes: ["epsilon": .float(1e-3)])
    }

    @Test func foldsIntoConvWithAndWithoutBias() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [2, 3, 7, 7])
        let w1 = builder.constant(PassTesting.random([4, 3, 3, 3], seed: 1))
        let b1 = builder.constant(PassTesting.random([4], seed: 2))
        let conv1 = builder.node("Conv", [x, w1, b1], attributes: ["pads": .ints([1, 1, 1, 1])])
        let norm1 = Self.addNorm(&builder, conv1, channels: 4, seed: 10)
        let w2 = builder.constant(PassTesting.random([4, 1, 3, 3], seed: 3))
        let conv2 = builder.node("Conv", [norm1, w2], attributes: ["group": .int(4)])
        builder.output(Self.addNorm(&builder, conv2, channels: 4, seed: 20), as: "y")
        let (graph, fired) = try PassTesting.apply(FoldBatchNormPass(), to: builder.build())
        #expect(fired == 2)
        #expect(PassTesting.count("BatchNormalization", in: graph) == 0)
        #expect(PassTesting.count("Conv", in: graph) == 2)
    }

    @Test func foldsIntoGemmWithTransposedWeights() throws {
        for transB in [0, 1] {
            var builder = GraphBuilder()
            let x = builder.input("x", .float32, [3, 5])
            let w = builder.constant(PassTesting.random(transB == 1 ? [6, 5] : [5, 6], seed: 4))
            let c = builder.constant(PassTesting.random([6], seed: 5))
            let gemm = builder.node("Gemm", [x, w, c], attributes: ["transB": .int(transB), "alpha": .float(0.5), "beta": .float(2)])
            builder.output(Self.addNorm(&builder, gemm, channels: 6, seed: 30), as: "y")
            let (graph, fired) = try PassTesting.apply(FoldBatchNormPass(), to: builder.build())
            #expect(fired == 1)
            #expect(Set(graph.nodes.map(\.opType)) == ["Gemm", "Identity"])
        }
    }

    @Test func convOutputReadElsewhereIsNotFolded() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [1, 2, 4, 4])
        let conv = builder.node("Conv", [x, builder.constant(PassTesting.random([2, 2, 1, 1], seed: 6))])
        builder.output(Self.addNorm(&builder, conv, channels: 2, seed: 40), as: "y")
        builder.output(conv, as: "raw")
        let (_, fired) = try PassTesting.apply(FoldBatchNormPass(), to: builder.build())
        #expect(fired == 0)
    }
}

@Suite struct PassGemmTests {
    @Test func twoDimensionalMatMulPlusBiasBecomesGemm() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, ["batch", 8])
        let product = builder.node("MatMul", [x, builder.constant(PassTesting.random([8, 5], seed: 1))])
        builder.output(builder.node("Add", [builder.constant(PassTesting.random([5], seed: 2)), product]), as: "y")
        let (graph, fired) = try PassTesting.apply(MatMulAddToGemmPass(), to: builder.build())
        #expect(fired == 1)
        #expect(Set(graph.nodes.map(\.opType)) == ["Gemm", "Identity"])
    }

    @Test func higherRankMatMulTakesTheBias() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [2, 3, 8])
        let product = builder.node("MatMul", [x, builder.constant(PassTesting.random([8, 5], seed: 1))])
        builder.output(builder.node("Add", [product, builder.constant(PassTesting.random([5], seed: 2))]), as: "y")
        let (graph, fired) = try PassTesting.apply(MatMulAddToGemmPass(), to: builder.build())
        #expect(fired == 1)
        #expect(PassTesting.count("MatMul", in: graph) == 1 && PassTesting.count("Add", in: graph) == 0)
        let matmul = try #require(graph.nodes.first { $0.opType == "MatMul" })
        #expect(matmul.inputs.count == 3)
        if case .int(let flag)? = matmul.attributes["kiln_bias"] { #expect(flag == 1) } else { Issue.record("kiln_bias missing") }
    }

    @Test func rowBroadcastBiasOnHigherRankStaysAnAdd() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [2, 3, 8])
        let product = builder.node("MatMul", [x, builder.constant(PassTesting.random([8, 5], seed: 1))])
        builder.output(builder.node("Add", [product, builder.constant(PassTesting.random([3, 5], seed: 2))]), as: "y")
        let (_, fired) = try PassTesting.apply(MatMulAddToGemmPass(), to: builder.build())
        #expect(fired == 0)
    }
}

@Suite struct PassActivationTests {
    @Test(arguments: [
        ("Relu", [String: Attribute]()), ("Sigmoid", [:]), ("Tanh", [:]),
        ("LeakyRelu", ["alpha": .float(0.2)]), ("Clip", [:]),
    ])
    func fusesIntoConvAndGemm(opType: String, attributes: [String: Attribute]) throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [2, 3, 6, 6])
        let conv = builder.node("Conv", [x, builder.constant(PassTesting.random([4, 3, 3, 3], seed: 1)),
                                         builder.constant(PassTesting.random([4], seed: 2))])
        let bounds = opType == "Clip"
            ? [builder.constant(PassTesting.tensor([], [0])), builder.constant(PassTesting.tensor([], [0.5]))] : []
        let activated = builder.node(opType, [conv] + bounds, attributes: attributes)
        let flat = builder.node("Flatten", [activated])
        let gemm = builder.node("Gemm", [flat, builder.constant(PassTesting.random([5, 64], seed: 3))],
                                attributes: ["transB": .int(1)])
        builder.output(builder.node(opType, [gemm] + bounds, attributes: attributes), as: "y")
        let (graph, fired) = try PassTesting.apply(FuseActivationPass(), to: builder.build())
        #expect(fired == 2)
        #expect(PassTesting.count(opType, in: graph) == 0)
        #expect(graph.nodes.filter { $0.attributes["kiln_activation"] != nil }.count == 2)
    }

    @Test func depthwiseConvRelu6() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [1, 4, 9, 9])
        let conv = builder.node("Conv", [x, builder.constant(PassTesting.random([4, 1, 3, 3], seed: 1, in: -3...3))],
                                attributes: ["group": .int(4)])
        let six = [builder.constant(PassTesting.tensor([], [0])), builder.constant(PassTesting.tensor([], [6]))]
        builder.output(builder.node("Clip", [conv] + six), as: "y")
        let (graph, fired) = try PassTesting.apply(FuseActivationPass(), to: builder.build())
        #expect(fired == 1)
        #expect(Set(graph.nodes.map(\.opType)) == ["Conv", "Identity"])
    }

    @Test func sharedOutputIsNotFused() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [2, 4])
        let gemm = builder.node("Gemm", [x, builder.constant(PassTesting.random([4, 4], seed: 1))])
        builder.output(builder.node("Relu", [gemm]), as: "y")
        builder.output(builder.node("Neg", [gemm]), as: "z")
        let (_, fired) = try PassTesting.apply(FuseActivationPass(), to: builder.build())
        #expect(fired == 0)
    }

    /// The fused loop against its scalar reference, over sizes around the vector width.
    @Test(arguments: [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33])
    func fusedActivationMatchesReference(count: Int) throws {
        let activations: [FusedActivation] = [.relu, .sigmoid, .tanh, .clip(low: 0, high: 6), .leakyRelu(alpha: 0.1)]
        let input = PassTesting.random([count], seed: 9, in: -8...8).floats()
        for activation in activations {
            var values = input
            values.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: count) }
            for index in 0..<count {
                let expected = activation.reference(input[index])
                #expect(abs(values[index] - expected) <= 1e-6 * max(1, abs(expected)), "\(activation) at \(input[index])")
            }
        }
    }

    @Test func unknownActivationIsRejected() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [2, 4])
        builder.output(builder.node("Gemm", [x, builder.constant(PassTesting.random([4, 4], seed: 1))],
                                    attributes: ["kiln_activation": .string("Softmax")]), as: "y")
        #expect(throws: GraphError.self) { try builder.build() }
    }
}
