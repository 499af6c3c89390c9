import Kiln
import KilnTestSupport
import Testing

/// Channels-last convolution (``DepthwiseChannelsLast``, ``ChannelsLastGEMM`` through `Conv` with
/// `kiln_channels_last`) against the textbook NCHW reference, and ``ChannelsLastPass`` on graphs.
@Suite struct ChannelsLastTests {
    typealias T = NeuralNetworkTesting

    /// `[N, C, H, W]` -> `[N, H, W, C]` (`toChannelsLast`) or back.
    static func permuted(_ tensor: Tensor, toChannelsLast: Bool) throws -> Tensor {
        let s = tensor.shape
        let (n, c, h, w) = toChannelsLast ? (s[0], s[1], s[2], s[3]) : (s[0], s[3], s[1], s[2])
        let values = try tensor.scalars(as: Float.self)
        var result = [Float](repeating: 0, count: values.count)
        for image in 0..<n {
            for channel in 0..<c {
                for y in 0..<h {
                    for x in 0..<w {
                        let first = ((image * c + channel) * h + y) * w + x
                        let last = ((image * h + y) * w + x) * c + channel
                        if toChannelsLast { result[last] = values[first] } else { result[first] = values[last] }
                    }
                }
            }
        }
        return try Tensor(shape: toChannelsLast ? [n, h, w, c] : [n, c, h, w], scalars: result)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var batch = 1, channels = 4, outputChannels = 4, group = 1
        var spatial = [7, 7], kernel = [3, 3], strides = [1, 1], dilations = [1, 1], pads = [1, 1, 1, 1]
        var bias = true, residual = false
        var activation: FusedActivation? = nil
        var inputChannelsLast = true
        var testDescription: String {
            "N\(batch) C\(channels) M\(outputChannels) g\(group) \(spatial) k\(kernel) s\(strides) d\(dilations) p\(pads) bias \(bias) residual \(residual) \(activation.map { "\($0)" } ?? "none") \(inputChannelsLast ? "NHWC" : "NCHW") in"
        }
    }

    /// Runs the channels-last Conv and compares it with the reference (plus bias, residual and
    /// activation) permuted to channels-last.
    static func check(_ test: Case, seed: UInt64, threads: Int) throws {
        let x = T.random([test.batch, test.channels] + test.spatial, seed: seed)
        let w = T.random([test.outputChannels, test.channels / test.group] + test.kernel, seed: seed + 1)
        let b = T.random([test.outputChannels], seed: seed + 2)
        var attributes: [String: Attribute] = [
            "group": .int(test.group), "strides": .ints(test.strides), "dilations": .ints(test.dilations),
            "pads": .ints(test.pads), "kiln_channels_last": .int(test.inputChannelsLast ? 1 : 2),
        ]
        if let activation = test.activation { attributes.merge(activation.attributes) { _, new in new } }
        let node = Node(name: "conv", opType: "Conv", inputs: [], outputs: [], attributes: attributes)
        let geometry = try SlidingWindowAttributes(node: node).forwardGeometry(inputSize: test.spatial, kernel: test.kernel,
                                                                              ceilMode: false)
        let outputShape = [test.batch, test.outputChannels] + geometry.outputSize
        let z = T.random(outputShape, seed: seed + 3)
        var expected = T.reference(outputShape, [x, w, b, z]) { pointers, output in
            ConvolutionKernels.reference(input: pointers[0], weights: pointers[1], bias: test.bias ? pointers[2] : nil,
                                         output: output, batch: test.batch, inputChannels: test.channels,
                                         outputChannels: test.outputChannels, groups: test.group, geometry: geometry)
            for index in 0..<outputShape.reduce(1, *) {
                let sum = output[index] + (test.residual ? pointers[3][index] : 0)
                output[index] = test.activation?.reference(sum) ?? sum
            }
        }
        expected = try permuted(expected, toChannelsLast: true)
        if test.residual { attributes["kiln_residual"] = .int(1) }
        let input = test.inputChannelsLast ? try permuted(x, toChannelsLast: true) : x
        let inputs: [Tensor?] = [input, w, test.bias ? b : nil] + (test.residual ? [try permuted(z, toChannelsLast: true)] : [])
        let y = try T.run(Conv.self, inputs, attributes: attributes, threads: threads)[0]
        T.expectClose(y, expected, rtol: 1e-4, atol: 1e-4, "\(test) threads \(threads)")
    }

    // Depthwise: channels in and beside blocks of four, widths under, at and past the interior,
    // both strides, asymmetric and wide padding.
    @Test(arguments: [1, 3, 4, 5, 8, 13, 16, 48])
    func depthwiseMatchesReference(channels: Int) throws {
        let activations: [FusedActivation?] = [.clip(low: 0, high: 6), nil, .sigmoid, .leakyRelu(alpha: 0.1)]
        var seed: UInt64 = 10
        for width in [1, 2, 3, 5, 8, 17] {
            for stride in [1, 2] {
                for pads in [[1, 1, 1, 1], [0, 0, 0, 0], [0, 1, 2, 0], [2, 2, 2, 2], [1, 3, 0, 2]] {
                    let height = width % 4 + 3
                    guard pads[1] + pads[3] + width >= 3 else { continue }
                    seed += 4
                    let test = Case(batch: 2, channels: channels, outputChannels: channels, group: channels,
                                    spatial: [height, width], strides: [stride, stride], pads: pads,
                                    bias: seed % 3 != 0, residual: seed % 5 == 0,
                                    activation: activations[Int(seed / 4) % activations.count])
                    try Self.check(test, seed: seed, threads: Int(seed % 2) + 1)
                }
            }
        }
    }

    /// The 16-channel blocks that AVX-512 builds use where channels divide by 16 (a baseline build
    /// would otherwise never run them): the same result, bit for bit, as the 4-channel blocks
    /// checked against the reference above, interior and border columns, both strides.
    @Test(arguments: [16, 48])
    func sixteenChannelBlocksMatchFourChannelBlocks(channels: Int) throws {
        for (width, stride, pads) in [(17, 1, [1, 1, 1, 1]), (9, 2, [0, 1, 2, 0]), (2, 1, [1, 3, 0, 2]), (20, 2, [1, 1, 1, 1])] {
            let height = width % 4 + 3
            let node = Node(name: "conv", opType: "Conv", inputs: [], outputs: [],
                            attributes: ["strides": .ints([stride, stride]), "pads": .ints(pads)])
            let geometry = try SlidingWindowAttributes(node: node).forwardGeometry(inputSize: [height, width], kernel: [3, 3],
                                                                                  ceilMode: false)
            let x = try T.random([2, height, width, channels], seed: UInt64(width)).scalars(as: Float.self)
            let w = try T.random([channels, 1, 3, 3], seed: UInt64(width + 1)).scalars(as: Float.self)
            let b = try T.random([channels], seed: UInt64(width + 2)).scalars(as: Float.self)
            let zeros = [Float](repeating: 0, count: width * channels)
            let outputCount = 2 * geometry.outputSize[0] * geometry.outputSize[1] * channels
            func convolve(lanes: Int) -> [Float] {
                var packed = [Float](repeating: .nan, count: DepthwiseChannelsLast.packedWeightFloats(channels: channels, lanes: lanes))
                DepthwiseChannelsLast.packWeights(w, channels: channels, lanes: lanes, into: &packed)
                var y = [Float](repeating: .nan, count: outputCount)
                DepthwiseChannelsLast.convolve3x3(x, packedWeights: packed, weights: w, bias: b, channels: channels,
                                                  geometry: geometry, activation: .clip(low: -0.5, high: 0.5),
                                                  zeroRow: zeros, rows: 0..<2 * geometry.outputSize[0], lanes: lanes,
                                                  output: &y)
                return y
            }
            let four = convolve(lanes: 4), sixteen = convolve(lanes: 16)
            #expect(!four.contains { $0.isNaN }, "width \(width) stride \(stride)")
            #expect(sixteen == four, "width \(width) stride \(stride)")
        }
    }

    /// Group-1 convolutions through each way ``ChannelsLastGEMM`` cuts the product: tiles within
    /// OpenBLAS's unpacked limit, channel blocks at few positions, packed tiles, the lowering (NHWC
    /// and NCHW input), with residual and activations.
    static let groupOneCases: [Case] = [
        Case(batch: 2, channels: 17, outputChannels: 9, spatial: [7, 9], kernel: [1, 1], pads: [0, 0, 0, 0]),
        Case(channels: 16, outputChannels: 96, spatial: [40, 40], kernel: [1, 1], pads: [0, 0, 0, 0],
             activation: .clip(low: 0, high: 6)),
        Case(channels: 256, outputChannels: 272, spatial: [7, 7], kernel: [1, 1], pads: [0, 0, 0, 0], residual: true),
        Case(channels: 1024, outputChannels: 88, spatial: [7, 7], kernel: [1, 1], pads: [0, 0, 0, 0],
             activation: .clip(low: 0, high: 6)),
        Case(batch: 2, channels: 256, outputChannels: 272, spatial: [9, 9], kernel: [1, 1], pads: [0, 0, 0, 0],
             bias: false, residual: true, activation: .relu),
        Case(channels: 3, outputChannels: 32, spatial: [33, 31], strides: [2, 2], activation: .clip(low: 0, high: 6)),
        Case(batch: 2, channels: 3, outputChannels: 32, spatial: [33, 31], strides: [2, 2],
             activation: .clip(low: 0, high: 6), inputChannelsLast: false),
        Case(channels: 5, outputChannels: 7, spatial: [12, 13], kernel: [5, 5], dilations: [2, 2], pads: [3, 1, 0, 4],
             residual: true, activation: .sigmoid),
        Case(channels: 6, outputChannels: 20, spatial: [9, 9], kernel: [1, 1], strides: [2, 2], pads: [0, 0, 0, 0]),
        Case(channels: 6, outputChannels: 20, spatial: [9, 9], kernel: [1, 1], pads: [0, 0, 0, 0], inputChannelsLast: false),
        // One channel in and out with group 1 is not depthwise: a 5x5 kernel goes through the GEMM.
        Case(channels: 1, outputChannels: 1, spatial: [8, 8], kernel: [5, 5], pads: [2, 2, 2, 2]),
    ]

    @Test(arguments: groupOneCases)
    func groupOneMatchesReference(test: Case) throws {
        for threads in [1, 2] { try Self.check(test, seed: 40, threads: threads) }
    }

    @Test func productsAreCutUnderTheUnpackedLimitWithWorkForEveryThread() {
        typealias Split = ChannelsLastGEMM.Split
        guard MatrixMultiplication.hasUnpackedSmallKernels else { return }
        // 12544 x 16 x 96: 1536 multiply-adds per row, so 640-row tiles stay under 10^6.
        #expect(Split(positions: 12_544, depth: 16, outputChannels: 96, inPlace: true, threads: 2) == .positionTiles(640))
        // 784 positions with a tiny K x M: capped at one thread's share (392, rounded up to 400).
        #expect(Split(positions: 784, depth: 16, outputChannels: 32, inPlace: true, threads: 2) == .positionTiles(400))
        // 7x7 with a large K x M: output channel blocks.
        #expect(Split(positions: 49, depth: 960, outputChannels: 160, inPlace: true, threads: 2) == .channelBlocks)
        // Too many positions for channel blocks: packed, one tile per thread in place.
        #expect(Split(positions: 196, depth: 960, outputChannels: 160, inPlace: true, threads: 2) == .positionTiles(98))
    }

    @Test func channelsLastAttributeOutsideItsRangeIsATypedError() throws {
        let node = Node(name: "conv", opType: "Conv", inputs: ["x", "w"], outputs: ["y"],
                        attributes: ["kiln_channels_last": .int(3)])
        #expect(throws: OperatorError.self) { try Conv(node: node, opset: Graph.defaultOpset) }
        // A grouped (not depthwise) convolution has no channels-last kernel.
        let x = T.random([1, 5, 5, 4], seed: 1), w = T.random([4, 2, 3, 3], seed: 2)
        #expect(throws: OperatorError.self) {
            try T.run(Conv.self, [x, w], attributes: ["group": .int(2), "kiln_channels_last": .int(1)])
        }
    }

    @Test func globalPoolingReadsChannelsLastInput() throws {
        let x = T.random([2, 5, 3, 7], seed: 9)
        let channelsLast = try Self.permuted(x, toChannelsLast: true)
        for (opType, kind) in [(GlobalAveragePool.opType, ReductionKind.mean), (GlobalMaxPool.opType, .maximum)] {
            let expected = T.reference([2, 5, 1, 1], [x]) { pointers, output in
                ReductionKernels.rows(pointers[0], output, rows: 0..<10, length: 21, kind: kind)
            }
            let y = opType == GlobalAveragePool.opType
                ? try T.run(GlobalAveragePool.self, [channelsLast], attributes: ["kiln_channels_last": .int(1)])[0]
                : try T.run(GlobalMaxPool.self, [channelsLast], attributes: ["kiln_channels_last": .int(1)])[0]
            T.expectClose(y, expected, rtol: 1e-5, atol: 1e-6, opType)
        }
    }

    // MARK: - The pass

    /// Stem (group 1, 3x3 stride 2), `blocks` inverted-residual blocks (pointwise, depthwise,
    /// pointwise, residual Add), global average pooling and a classifier, with the fusions applied.
    static func mobileNetLike(blocks: Int = 2, extraOutput: Bool = false) throws -> Graph {
        var builder = GraphBuilder()
        var seed: UInt64 = 100
        func constant(_ shape: [Int]) -> String {
            seed += 1
            return builder.constant(PassTesting.random(shape, seed: seed, in: -0.5...0.5))
        }
        let six = builder.constant(PassTesting.tensor([], [6])), zero = builder.constant(PassTesting.tensor([], [0]))
        func conv(_ x: String, _ cin: Int, _ cout: Int, kernel: Int, stride: Int = 1, group: Int = 1, relu6: Bool) -> String {
            let pad = kernel / 2
            let y = builder.node("Conv", [x, constant([cout, cin / group, kernel, kernel]), constant([cout])], attributes: [
                "pads": .ints([pad, pad, pad, pad]), "strides": .ints([stride, stride]), "group": .int(group),
            ])
            return relu6 ? builder.node("Clip", [y, zero, six]) : y
        }
        let image = builder.input("image", .float32, [.symbolic("batch"), .fixed(3), .fixed(20), .fixed(18)])
        var x = conv(image, 3, 8, kernel: 3, stride: 2, relu6: true)
        for _ in 0..<blocks {
            let expanded = conv(x, 8, 24, kernel: 1, relu6: true)
            let filtered = conv(expanded, 24, 24, kernel: 3, group: 24, relu6: true)
            x = builder.node("Add", [conv(filtered, 24, 8, kernel: 1, relu6: false), x])
        }
        if extraOutput { builder.output(builder.node("Relu", [x]), as: "features") }
        let pooled = builder.node("Flatten", [builder.node("GlobalAveragePool", [x])])
        builder.output(builder.node("Gemm", [pooled, constant([5, 8]), constant([5])], attributes: ["transB": .int(1)]),
                       as: "logits")
        var graph = try builder.build()
        try PassPipeline([FuseResidualAddPass(), FuseActivationPass(), DeadNodeEliminationPass()]).run(&graph)
        return graph
    }

    @Test func mobileNetChainRunsChannelsLastWithoutTransposes() throws {
        let (graph, fired) = try PassTesting.apply(ChannelsLastPass(), to: try Self.mobileNetLike(), tolerance: 1e-4)
        #expect(fired == 7)
        #expect(PassTesting.count("Transpose", in: graph) == 0)
        let layouts = graph.nodes.filter { $0.opType == "Conv" }.map { $0.attributes["kiln_channels_last"]?.description }
        // The stem reads the NCHW image in place; the rest are channels-last end to end.
        #expect(layouts.first == "\(ChannelsLastPass.outputOnly)")
        #expect(layouts.dropFirst().allSatisfy { $0 == "1" })
        let pooling = try #require(graph.nodes.first { $0.opType == "GlobalAveragePool" })
        #expect(pooling.attributes["kiln_channels_last"]?.description == "1")
    }

    @Test func valuesReadOutsideTheChainAreTransposedBack() throws {
        let (graph, _) = try PassTesting.apply(ChannelsLastPass(), to: try Self.mobileNetLike(extraOutput: true),
                                               tolerance: 1e-4)
        // The last block's output feeds the pooling (channels-last) and a Relu graph output (NCHW).
        #expect(PassTesting.count("Transpose", in: graph) == 1)
        let transpose = try #require(graph.nodes.first { $0.opType == "Transpose" })
        #expect(transpose.attributes["perm"]?.description == Attribute.ints([0, 3, 1, 2]).description)
    }

    @Test func aLoneDepthwiseConvolutionStaysNCHW() throws {
        let (graph, fired) = try PassTesting.apply(ChannelsLastPass(), to: try Self.mobileNetLike(blocks: 1))
        #expect(fired == 0)
        #expect(graph.nodes.allSatisfy { $0.attributes["kiln_channels_last"] == nil })
    }

    @Test func aChainStartingWithDepthwiseTransposesItsInput() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [1, 6, 9, 9].map { Dim.fixed($0) })
        var value = x
        for seed in 0..<2 {
            value = builder.node("Conv", [value, builder.constant(PassTesting.random([6, 1, 3, 3], seed: UInt64(seed)))],
                                 attributes: ["pads": .ints([1, 1, 1, 1]), "group": .int(6)])
        }
        builder.output(value, as: "y")
        let (graph, fired) = try PassTesting.apply(ChannelsLastPass(), to: try builder.build())
        #expect(fired == 2)
        #expect(graph.nodes.filter { $0.opType == "Transpose" }.map { $0.attributes["perm"]?.description }
            == [Attribute.ints([0, 2, 3, 1]).description, Attribute.ints([0, 3, 1, 2]).description])
    }

    /// Stem (3x3 stride 2), a ceil-mode MaxPool, `fires` Fire modules (squeeze 1x1, expand 1x1 and
    /// 3x3 joined by a Concat), a MaxPool, a 1x1 classifier and global average pooling; Relus fused.
    static func squeezeNetLike(fires: Int = 2, channels: Int = 32) throws -> Graph {
        var builder = GraphBuilder()
        var seed: UInt64 = 200
        func conv(_ x: String, _ cin: Int, _ cout: Int, kernel: Int, stride: Int = 1) -> String {
            seed += 2
            let w = builder.constant(PassTesting.random([cout, cin, kernel, kernel], seed: seed, in: -0.5...0.5))
            let b = builder.constant(PassTesting.random([cout], seed: seed + 1))
            let pad = stride == 1 ? kernel / 2 : 0
            return builder.node("Relu", [builder.node("Conv", [x, w, b], attributes: [
                "pads": .ints([pad, pad, pad, pad]), "strides": .ints([stride, stride]),
            ])])
        }
        func maxPool(_ x: String) -> String {
            builder.node("MaxPool", [x], attributes: ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 2]),
                                                      "ceil_mode": .int(1)])
        }
        let image = builder.input("image", .float32, [.symbolic("batch"), .fixed(3), .fixed(29), .fixed(27)])
        var x = maxPool(conv(image, 3, 2 * channels, kernel: 3, stride: 2))
        var width = 2 * channels
        for _ in 0..<fires {
            let squeezed = conv(x, width, channels, kernel: 1)
            x = builder.node("Concat", [conv(squeezed, channels, 2 * channels, kernel: 1),
                                        conv(squeezed, channels, 2 * channels, kernel: 3)], attributes: ["axis": .int(1)])
            width = 4 * channels
        }
        x = conv(maxPool(x), width, 5, kernel: 1)
        builder.output(builder.node("Flatten", [builder.node("GlobalAveragePool", [x])]), as: "logits")
        var graph = try builder.build()
        try PassPipeline([FuseActivationPass(), DeadNodeEliminationPass()]).run(&graph)
        return graph
    }

    @Test func fireModulesRunChannelsLastWithoutTransposes() throws {
        let (graph, fired) = try PassTesting.apply(ChannelsLastPass(directConvolutions: true), to: try Self.squeezeNetLike(),
                                                   tolerance: 1e-4)
        // 8 convolutions, 2 MaxPools, 2 Concats.
        #expect(fired == 12)
        #expect(PassTesting.count("Transpose", in: graph) == 0)
        #expect(graph.nodes.filter { $0.opType == "Concat" }.allSatisfy { $0.attributes["axis"]?.description == "3" })
        #expect(graph.nodes.filter { $0.opType == "MaxPool" }.allSatisfy {
            $0.attributes["kiln_channels_last"]?.description == "1"
        })
    }

    @Test func fireModuleExpandLayersWriteIntoTheirJoin() throws {
        let (channelsLast, _) = try PassTesting.apply(ChannelsLastPass(directConvolutions: true),
                                                      to: try Self.squeezeNetLike())
        let (graph, fired) = try PassTesting.apply(FuseConcatConvolutionsPass(), to: channelsLast, tolerance: 1e-4)
        #expect(fired == 2)
        #expect(PassTesting.count("Concat", in: graph) == 0)
        #expect(PassTesting.count(KilnConcatConvolutions.opType, in: graph) == 2)
        // Each joins a 1x1 and a 3x3 branch: their pads side by side.
        let join = try #require(graph.nodes.first { $0.opType == KilnConcatConvolutions.opType })
        #expect(join.attributes["pads"]?.description == Attribute.ints([0, 0, 0, 0, 1, 1, 1, 1]).description)
        #expect(join.inputs.count == 5)
    }

    @Test func aJoinOfConvolutionsReadingDifferentInputsIsLeftAlone() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [1, 5, 6, 64].map { Dim.fixed($0) })
        let y = builder.input("y", .float32, [1, 5, 6, 64].map { Dim.fixed($0) })
        func conv(_ input: String, seed: UInt64) -> String {
            builder.node("Conv", [input, builder.constant(PassTesting.random([64, 64, 1, 1], seed: seed))],
                         attributes: [ChannelsLastPass.attributeName: .int(1)])
        }
        builder.output(builder.node("Concat", [conv(x, seed: 1), conv(y, seed: 2)], attributes: ["axis": .int(3)]))
        let (_, fired) = try PassTesting.apply(FuseConcatConvolutionsPass(), to: try builder.build())
        #expect(fired == 0)
    }

    @Test func malformedJoinedConvolutionsAreATypedError() throws {
        let layout: [String: Attribute] = [ChannelsLastPass.attributeName: .int(1)]
        func node(_ inputs: [String], _ attributes: [String: Attribute]) -> Node {
            Node(name: "join", opType: KilnConcatConvolutions.opType, inputs: inputs, outputs: ["y"], attributes: attributes)
        }
        // W without B, pads for one branch of two, an NCHW branch.
        let malformed = [
            node(["x", "w"], layout.merging(["pads": .ints([0, 0, 0, 0])]) { $1 }),
            node(["x", "w1", "b1", "w2", "b2"], layout.merging(["pads": .ints([0, 0, 0, 0])]) { $1 }),
            node(["x", "w", "b"], ["pads": .ints([0, 0, 0, 0])]),
        ]
        for bad in malformed {
            #expect(throws: OperatorError.self) { try KilnConcatConvolutions(node: bad, opset: Graph.defaultOpset) }
        }
    }

    @Test func fireModulesStayNCHWWithoutTheDirectKernels() throws {
        // A build without the direct kernels: im2col + OpenBLAS either way, nothing to gain.
        let (graph, fired) = try PassTesting.apply(ChannelsLastPass(directConvolutions: false),
                                                   to: try Self.squeezeNetLike())
        #expect(fired == 0)
        #expect(graph.nodes.allSatisfy { $0.attributes["kiln_channels_last"] == nil })
        // Nor do 3x3 layers whose output channels the direct kernel cannot take (not a multiple of 64).
        let (narrow, narrowFired) = try PassTesting.apply(ChannelsLastPass(directConvolutions: true),
                                                          to: try Self.squeezeNetLike(channels: 4))
        #expect(narrowFired == 0)
        #expect(narrow.nodes.allSatisfy { $0.attributes["kiln_channels_last"] == nil })
    }

    /// Padding, ceil mode, stride 1 and 2, dilation, channels in and beside vector blocks, both
    /// block widths (a baseline build never picks 16 itself), against the NCHW kernel.
    @Test(arguments: [1, 5, 16, 35])
    func maxPoolMatchesNCHW(channels: Int) throws {
        for (kernel, strides, dilations, pads, ceil) in [([3, 3], [2, 2], [1, 1], [0, 0, 0, 0], 1),
                                                         ([2, 3], [1, 2], [2, 1], [1, 0, 1, 2], 0),
                                                         ([3, 3], [2, 2], [1, 1], [1, 1, 1, 1], 0)] {
            let attributes: [String: Attribute] = [
                "kernel_shape": .ints(kernel), "strides": .ints(strides), "dilations": .ints(dilations),
                "pads": .ints(pads), "ceil_mode": .int(ceil),
            ]
            let x = T.random([2, channels, 9, 8], seed: UInt64(channels))
            var values = try x.scalars(as: Float.self)
            values[3] = .nan
            let withNaN = try Tensor(shape: x.shape, scalars: values)
            let expected = try T.run(MaxPool.self, [withNaN], attributes: attributes)[0]
            var channelsLast = attributes
            channelsLast["kiln_channels_last"] = .int(1)
            let y = try T.run(MaxPool.self, [try Self.permuted(withNaN, toChannelsLast: true)], attributes: channelsLast,
                              threads: 2)[0]
            let back = try Self.permuted(y, toChannelsLast: false)
            #expect(try back.scalars(as: Float.self).elementsEqual(expected.scalars(as: Float.self)) { $0 == $1 || ($0.isNaN && $1.isNaN) },
                    "kernel \(kernel) strides \(strides)")
            for lanes in [4, 16] where channels % lanes == 0 {
                let node = Node(name: "pool", opType: "MaxPool", inputs: [], outputs: [], attributes: attributes)
                let geometry = try SlidingWindowAttributes(node: node).forwardGeometry(inputSize: [9, 8], kernel: kernel,
                                                                                      ceilMode: ceil == 1)
                let input = try Self.permuted(withNaN, toChannelsLast: true).scalars(as: Float.self)
                var output = [Float](repeating: .nan, count: y.count)
                MaxPoolChannelsLast.pool(input, output: &output, batch: 2, channels: channels, geometry: geometry,
                                         context: ExecutionContext(threads: 1), lanes: lanes)
                #expect(output.elementsEqual(try y.scalars(as: Float.self)) { $0 == $1 || ($0.isNaN && $1.isNaN) })
            }
        }
    }

    @Test func thePipelineCanLeaveThePassOut() {
        #expect(PassPipeline.default.names.contains("channels_last"))
        #expect(!PassPipeline.default.skipping(["channels_last"]).names.contains("channels_last"))
        #expect(PassPipeline.default.skipping(["channels_last"]).names.count == PassPipeline.default.names.count - 1)
    }
}
