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
        // The 3x3 expand branches and the stem (3 input channels, read a kernel row at a time) suit
        // the direct kernel; the squeeze layers have 32 output channels, the 1x1 expand layers 32
        // input channels.
        #expect(fired == 3)
        let joins = graph.nodes.filter { $0.opType == KilnConcatConvolutions.opType }
        #expect(joins.count == 2)
        #expect(joins.allSatisfy { $0.attributes[PackWeightsPass.attributeName]?.description == Attribute.ints([0, 1]).description })
        let packed = graph.nodes.filter { $0.opType == "Conv" && $0.attributes[PackWeightsPass.attributeName] != nil }
        #expect(packed.map(\.inputs.first) == [graph.inputs.first?.name])
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

    /// Two 3x3 convolutions that the channels-last Winograd kernel runs at batch 1: 24x24 (36 4x4
    /// tiles: F(4x4)) and 12x12 (9 4x4 tiles, 36 2x2 ones: F(2x2)); and one whose input size is
    /// not known when converting, which keeps W for the direct kernel.
    static func winogradConvolutions() throws -> Graph {
        var builder = GraphBuilder()
        let batch = Dim.symbolic("batch")
        let large = builder.input("large", .float32, [batch, 24, 24, 16])
        let small = builder.input("small", .float32, [batch, 12, 12, 32])
        let unknown = builder.input("unknown", .float32, [batch, .symbolic("h"), .symbolic("w"), 16])
        let attributes: [String: Attribute] = [ChannelsLastPass.attributeName: .int(1), "pads": .ints([1, 1, 1, 1])]
        let largeWeights = builder.constant(PassTesting.random([64, 16, 3, 3], seed: 11), name: "large_w")
        let smallWeights = builder.constant(PassTesting.random([128, 32, 3, 3], seed: 12), name: "small_w")
        let bias = builder.constant(PassTesting.random([128], seed: 13), name: "small_b")
        builder.output(builder.node("Conv", [large, largeWeights], attributes: attributes), as: "large_y")
        builder.output(builder.node("Conv", [small, smallWeights, bias], attributes: attributes.merging(
            FusedActivation.relu.attributes) { $1 }), as: "small_y")
        builder.output(builder.node("Conv", [unknown, builder.constant(PassTesting.random([64, 16, 3, 3], seed: 14))],
                                    attributes: attributes), as: "unknown_y")
        return try builder.build()
    }

    static let winogradPass = PackWeightsPass(directConvolutions: true, packedProducts: true, winogradConvolutions: true)

    /// W becomes the transform of the tile the kernel runs with; the outputs are unchanged (here,
    /// in a build without the kernel, through W transformed back).
    @Test func convolutionsStoreTheirWinogradTransform() throws {
        let original = try Self.winogradConvolutions()
        var bound = original
        // Give the symbolic size a value for the comparison's random inputs only.
        bound.inputs[2].type = TensorType(.float32, [.symbolic("batch"), 9, 10, 16])
        let (graph, fired) = try PassTesting.apply(Self.winogradPass, to: bound, tolerance: 1e-4)
        #expect(fired == 3)
        func stored(_ graph: Graph) -> [Int?] {
            graph.nodes.filter { $0.opType == Conv.opType }.map { try? $0.int(PackWeightsPass.attributeName, default: 0) }
        }
        #expect(stored(graph) == [2, 3, 1])
        #expect(graph.initializers.values.map(\.shape).contains([36, 1, 16, 64]))
        #expect(graph.initializers.values.map(\.shape).contains([16, 2, 32, 64]))
        #expect(graph.storesWinogradWeights)

        var unknownSize = original
        #expect(try Self.winogradPass.run(&unknownSize) == 3)
        #expect(stored(unknownSize) == [2, 3, 1])
    }

    /// A joined convolution's 3x3 branch stores its transform too (one value per branch).
    @Test func aJoinedBranchStoresItsWinogradTransform() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [.symbolic("batch"), 24, 24, 16])
        func conv(_ kernel: Int, seed: UInt64) -> String {
            builder.node("Conv", [x, builder.constant(PassTesting.random([64, 16, kernel, kernel], seed: seed)),
                                  builder.constant(PassTesting.random([64], seed: seed + 1))],
                         attributes: [ChannelsLastPass.attributeName: .int(1),
                                      "pads": .ints(Array(repeating: kernel / 2, count: 4))])
        }
        builder.output(builder.node("Concat", [conv(1, seed: 31), conv(3, seed: 33)], attributes: ["axis": .int(3)]),
                       as: "y")
        let (joined, _) = try PassTesting.apply(FuseConcatConvolutionsPass(), to: try builder.build())
        let (graph, fired) = try PassTesting.apply(Self.winogradPass, to: joined, tolerance: 1e-4)
        #expect(fired == 1)
        let join = try #require(graph.nodes.first { $0.opType == KilnConcatConvolutions.opType })
        #expect(join.attributes[PackWeightsPass.attributeName]?.description == Attribute.ints([0, 2]).description)
        #expect(graph.storesWinogradWeights)
    }

    /// `W = G⁻¹ U G⁻ᵀ` from three rows and columns of `U` gives W back up to rounding.
    @Test(arguments: [WinogradChannelsLast.Tile.f4x4, .f2x2])
    func winogradTransformsInvert(tile: WinogradChannelsLast.Tile) throws {
        let (outputChannels, channels) = (128, 16)
        let weights = try PassTesting.random([outputChannels, channels, 3, 3], seed: 21).scalars(as: Float.self)
        var u = [Float](repeating: .nan, count: WinogradChannelsLast.transformedWeightFloats(
            tile: tile, channels: channels, outputChannels: outputChannels))
        WinogradChannelsLast.transformWeights(weights, directLayout: false, tile: tile, channels: channels,
                                              outputChannels: outputChannels, into: &u, context: ExecutionContext(threads: 2))
        var back = [Float](repeating: .nan, count: weights.count)
        WinogradChannelsLast.untransformWeights(u, tile: tile, channels: channels, outputChannels: outputChannels,
                                                into: &back)
        let worst = zip(back, weights).map { abs($0 - $1) }.max() ?? .nan
        #expect(worst < 1e-6, "largest difference \(worst)")
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

        Self.expectRefused(bytes, flags: 0, naming: PackWeightsPass.attributeName)
    }

    /// `bytes` with the header flags set to `flags` (and the header checksum redone) is refused as
    /// an invalid value at byte 12 whose reason names `subject`.
    static func expectRefused(_ bytes: [UInt8], flags: UInt8, naming subject: String,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        var cleared = bytes
        cleared[12] = flags
        let checksum = XXH64.hash(Array(cleared[0..<56]))
        for index in 0..<8 { cleared[56 + index] = UInt8(truncatingIfNeeded: checksum >> (8 * UInt64(index))) }
        #expect(sourceLocation: sourceLocation) {
            _ = try Model(data: cleared)
        } throws: { error in
            guard case FormatError.invalidValue(section: "header", offset: 12, let reason) = error else { return false }
            return reason.contains(subject)
        }
    }

    /// Winograd transforms also set flag bit 1 (format 1.2), which a 1.1 reader does not know and
    /// refuses; a file whose nodes say so without it is refused here.
    @Test func winogradWeightsSetTheirOwnHeaderFlag() throws {
        var graph = try Self.winogradConvolutions()
        try Self.winogradPass.run(&graph)
        let bytes = try Model(graph: graph).serialized()
        #expect(UInt32(bytes[12]) | UInt32(bytes[13]) << 8 == 3)
        #expect(try Model(data: bytes).graph.storesWinogradWeights)

        Self.expectRefused(bytes, flags: 1, naming: "Winograd")
    }

    // MARK: Malformed nodes

    @Test func malformedWinogradWeightsAreATypedError() throws {
        let opset = Graph.defaultOpset
        func node(_ layout: Int, stored: Int) -> Node {
            Node(name: "n", opType: "Conv", inputs: ["x", "w"], outputs: ["y"],
                 attributes: [ChannelsLastPass.attributeName: .int(layout), PackWeightsPass.attributeName: .int(stored),
                              "pads": .ints([1, 1, 1, 1])])
        }
        // An NCHW input, or a value no layout has.
        #expect(throws: OperatorError.self) { try Conv(node: node(ChannelsLastPass.outputOnly, stored: 2), opset: opset) }
        #expect(throws: OperatorError.self) { try Conv(node: node(1, stored: 4), opset: opset) }
        // W in ONNX's shape where the attribute says F(4x4)'s transform.
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [1, 8, 8, 16].map { Dim.fixed($0) })
        let w = builder.constant(PassTesting.random([64, 16, 3, 3], seed: 3))
        builder.output(builder.node("Conv", [x, w], attributes: node(1, stored: 2).attributes), as: "y")
        #expect(throws: (any Error).self) {
            let session = try InferenceSession(model: Model(graph: try builder.build()), options: .init(threads: 1))
            _ = try session.run(["x": PassTesting.random([1, 8, 8, 16], seed: 1)])
        }
    }

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
        // A Winograd value where only panels exist.
        let winograd: [String: Attribute] = [PackWeightsPass.attributeName: .int(2)]
        #expect(throws: OperatorError.self) { try Gemm(node: node("Gemm", winograd), opset: opset) }
        #expect(throws: OperatorError.self) { try MatMul(node: node("MatMul", winograd), opset: opset) }
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
        // A dilated convolution: no kernel packs its weights, and a file that says so is refused.
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [1, 6, 6, 8].map { Dim.fixed($0) })
        let w = builder.constant(PassTesting.random([64, 8, 3, 3], seed: 3))
        builder.output(builder.node("Conv", [x, w], attributes: [ChannelsLastPass.attributeName: .int(1),
                                                                 "dilations": .ints([2, 2]),
                                                                 PackWeightsPass.attributeName: .int(1)]), as: "y")
        let session = try InferenceSession(model: Model(graph: try builder.build()), options: .init(threads: 1))
        #expect(throws: (any Error).self) { try session.run(["x": PassTesting.random([1, 6, 6, 8], seed: 1)]) }
    }
}
