import Kiln
import KilnTestSupport
import Testing

/// ``PackWeightsPass``: which weights it stores in their kernel's layout, and that the graph still
/// computes the same. This baseline build has neither kernel, so every packed weight here also
/// goes through the operators' way back (unpacked once, then OpenBLAS or ``ChannelsLastGEMM``):
/// the path of a file converted by an AVX-512 build and served by another.
@Suite struct PackWeightsTests {
    static let pass = PackWeightsPass(directConvolutions: true, packedProducts: true)

    /// `x [batch, 16]` through a Gemm (transB, bias), two MatMuls sharing one B, one whose B is not
    /// a whole number of panels, and a reader of the shared B in ONNX's layout.
    static func linearLayers() throws -> Graph {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [.symbolic("batch"), .fixed(16)])
        let gemmWeights = builder.constant(PassTesting.random([128, 16], seed: 1), name: "gemm_w")
        let gemmBias = builder.constant(PassTesting.random([128], seed: 2), name: "gemm_b")
        let shared = builder.constant(PassTesting.random([64, 64], seed: 3), name: "shared")
        let hidden = builder.node("Gemm", [x, gemmWeights, gemmBias], attributes: ["transB": .int(1)])
        let first = builder.node("MatMul", [hidden, builder.constant(PassTesting.random([128, 64], seed: 4), name: "down")])
        let second = builder.node("MatMul", [builder.node("MatMul", [first, shared]), shared])
        builder.output(builder.node("MatMul", [second, builder.constant(PassTesting.random([64, 10], seed: 5), name: "head")]),
                       as: "y")
        builder.output(builder.node("Neg", [shared]), as: "negated")
        return try builder.build()
    }

    @Test func linearLayersStoreTheirPanels() throws {
        let (graph, fired) = try PassTesting.apply(Self.pass, to: try Self.linearLayers(), tolerance: 1e-4)
        // The Gemm and three MatMuls; the head's 10 columns are not a whole panel.
        #expect(fired == 4)
        #expect(graph.nodes.filter { $0.attributes[PackWeightsPass.attributeName] != nil }.count == 4)
        let names = Set(graph.initializers.keys)
        // Packed copies replace weights nothing else reads; the shared B is packed once and kept
        // for the node that reads it in ONNX's layout.
        #expect(names == ["gemm_w_packed", "gemm_b", "down_packed", "shared", "shared_packed", "head"])
        #expect(graph.storesKernelLayoutWeights)
        let original = try Self.linearLayers()
        #expect(graph.initializers["gemm_w_packed"]?.shape == original.initializers["gemm_w"]?.shape)
        // (A single untransposed panel is its own packing; a transposed B is not.)
        #expect(try graph.initializers["gemm_w_packed"]?.scalars(as: Float.self)
            != original.initializers["gemm_w"]?.scalars(as: Float.self))
    }

    @Test func aRowOfInputRunsThePackedWeightsToo() throws {
        var packed = try Self.linearLayers()
        #expect(try Self.pass.run(&packed) == 4)
        let inputs = ["x": PassTesting.random([1, 16], seed: 9)]
        let expected = try PassTesting.outputs(of: try Self.linearLayers(), inputs)
        let actual = try PassTesting.outputs(of: packed, inputs)
        for (name, value) in expected {
            let comparison = Comparison.compare(try #require(actual[name]), value, rtol: 1e-4, atol: 1e-4)
            #expect(comparison.isClose, "\(name): \(comparison)")
        }
    }

    @Test func gemmsTheKernelDoesNotTakeStayAsTheyAre() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [.fixed(64), .fixed(64)])
        let w = builder.constant(PassTesting.random([64, 64], seed: 1))
        let full = builder.constant(PassTesting.random([64, 64], seed: 2))
        builder.output(builder.node("Gemm", [x, w], attributes: ["transA": .int(1)]), as: "transposed_a")
        builder.output(builder.node("Gemm", [x, w], attributes: ["alpha": .float(0.5)]), as: "scaled")
        builder.output(builder.node("Gemm", [x, w, full]), as: "full_c")
        builder.output(builder.node("Gemm", [x, builder.input("b", .float32, [.fixed(64), .fixed(64)])]), as: "input_b")
        let (graph, fired) = try PassTesting.apply(Self.pass, to: try builder.build())
        #expect(fired == 0)
        #expect(!graph.storesKernelLayoutWeights)
    }

    @Test func fireModulesStoreTheirDirectWeightsPacked() throws {
        let (channelsLast, _) = try PassTesting.apply(ChannelsLastPass(directConvolutions: true),
                                                      to: try ChannelsLastTests.squeezeNetLike())
        let (joined, _) = try PassTesting.apply(FuseConcatConvolutionsPass(), to: channelsLast)
        let (graph, fired) = try PassTesting.apply(Self.pass, to: joined, tolerance: 1e-4)
        // Only the 3x3 expand branches suit the direct kernel: the stem has 3 input channels, the
        // squeeze layers 32 output channels, the 1x1 expand layers 32 input channels.
        #expect(fired == 2)
        let joins = graph.nodes.filter { $0.opType == KilnConcatConvolutions.opType }
        #expect(joins.count == 2)
        #expect(joins.allSatisfy { $0.attributes[PackWeightsPass.attributeName]?.description == Attribute.ints([0, 1]).description })
        #expect(graph.nodes.filter { $0.opType == "Conv" }.allSatisfy { $0.attributes[PackWeightsPass.attributeName] == nil })
        // Nothing packs for a build without the kernels.
        let (unpacked, none) = try PassTesting.apply(PackWeightsPass(directConvolutions: false, packedProducts: false),
                                                     to: joined)
        #expect(none == 0 && !unpacked.storesKernelLayoutWeights)
    }

    @Test func aConvolutionStoresItsDirectWeightsPacked() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [.symbolic("batch"), .fixed(7), .fixed(6), .fixed(8)])
        let w = builder.constant(PassTesting.random([64, 8, 3, 3], seed: 3))
        builder.output(builder.node("Conv", [x, w], attributes: [ChannelsLastPass.attributeName: .int(1),
                                                                 "pads": .ints([1, 1, 1, 1])]), as: "y")
        let (graph, fired) = try PassTesting.apply(Self.pass, to: try builder.build(), tolerance: 1e-4)
        #expect(fired == 1)
        #expect(graph.initializers.count == 1 && graph.initializers.keys.allSatisfy { $0.hasSuffix("_packed") })
    }

    // MARK: The file

    /// Packed weights set the header's required flag bit 0, so a 1.0 reader refuses the file
    /// instead of reading them in ONNX's layout; a file whose nodes say packed without the flag is
    /// refused here.
    @Test func packedWeightsSetARequiredHeaderFlag() throws {
        var graph = try Self.linearLayers()
        try Self.pass.run(&graph)
        let bytes = try Model(graph: graph).serialized()
        #expect(UInt32(bytes[12]) | UInt32(bytes[13]) << 8 == 1)
        #expect(UInt16(bytes[10]) | UInt16(bytes[11]) << 8 == UInt16(FormatVersion.current.minor))
        let loaded = try Model(data: bytes)
        #expect(loaded.graph.storesKernelLayoutWeights)
        let plain = try Model(graph: try Self.linearLayers()).serialized()
        #expect(plain[12] == 0)

        var cleared = bytes
        cleared[12] = 0
        let checksum = XXH64.hash(Array(cleared[0..<56]))
        for index in 0..<8 { cleared[56 + index] = UInt8(truncatingIfNeeded: checksum >> (8 * UInt64(index))) }
        #expect {
            _ = try Model(data: cleared)
        } throws: { error in
            guard case FormatError.invalidValue(section: "header", offset: 12, let reason) = error else { return false }
            return reason.contains(PackWeightsPass.attributeName)
        }
    }

    // MARK: Malformed nodes

    @Test func packedWeightsWhereNoKernelReadsThemAreATypedError() throws {
        let packed: [String: Attribute] = [PackWeightsPass.attributeName: .int(1)]
        func node(_ opType: String, _ attributes: [String: Attribute] = [:], inputs: [String] = ["x", "w"]) -> Node {
            Node(name: "n", opType: opType, inputs: inputs, outputs: ["y"], attributes: packed.merging(attributes) { $1 })
        }
        let opset = Graph.defaultOpset
        // An NCHW convolution, a grouped one, a Gemm over A transposed or scaled.
        #expect(throws: OperatorError.self) { try Conv(node: node("Conv"), opset: opset) }
        #expect(throws: OperatorError.self) {
            try Conv(node: node("Conv", [ChannelsLastPass.attributeName: .int(1), "group": .int(2)]), opset: opset)
        }
        #expect(throws: OperatorError.self) { try Gemm(node: node("Gemm", ["transA": .int(1)]), opset: opset) }
        #expect(throws: OperatorError.self) { try Gemm(node: node("Gemm", ["alpha": .float(2)]), opset: opset) }
        // B or W not a constant, or not whole panels.
        let partial = try Tensor(zeros: .float32, shape: [8, 96])
        var matMul = try MatMul(node: node("MatMul"), opset: opset)
        #expect(throws: OperatorError.self) { try matMul.prepare(constants: [nil, nil]) }
        #expect(throws: OperatorError.self) { try matMul.prepare(constants: [nil, partial]) }
        var gemm = try Gemm(node: node("Gemm"), opset: opset)
        #expect(throws: OperatorError.self) { try gemm.prepare(constants: [nil, partial]) }
        var conv = try Conv(node: node("Conv", [ChannelsLastPass.attributeName: .int(1)]), opset: opset)
        #expect(throws: OperatorError.self) { try conv.prepare(constants: [nil, nil]) }
        // A joined convolution's flags, one per branch.
        let join = node(KilnConcatConvolutions.opType, [ChannelsLastPass.attributeName: .int(1), "pads": .ints([0, 0, 0, 0]),
                                                        PackWeightsPass.attributeName: .ints([1, 0])],
                        inputs: ["x", "w", "b"])
        #expect(throws: OperatorError.self) { try KilnConcatConvolutions(node: join, opset: opset) }
    }

    @Test func aPackedConvolutionWhoseWeightsCannotBeUnpackedIsATypedError() throws {
        // 32 output channels are not a whole block: no kernel packs them, and a file that says so is refused.
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [1, 4, 4, 8].map { Dim.fixed($0) })
        let w = builder.constant(PassTesting.random([32, 8, 3, 3], seed: 3))
        builder.output(builder.node("Conv", [x, w], attributes: [ChannelsLastPass.attributeName: .int(1),
                                                                 PackWeightsPass.attributeName: .int(1)]), as: "y")
        let session = try InferenceSession(model: Model(graph: try builder.build()), options: .init(threads: 1))
        #expect(throws: (any Error).self) { try session.run(["x": PassTesting.random([1, 4, 4, 8], seed: 1)]) }
    }
}
