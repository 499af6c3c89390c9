import Kiln
import KilnTestSupport
import Testing

@Suite struct ConvTests {
    typealias T = NeuralNetworkTesting

    struct Case: CustomStringConvertible, Sendable {
        var batch = 1, channels = 1, outputChannels = 1, group = 1
        var spatial: [Int] = [5, 5]
        var kernel: [Int] = [3, 3]
        var strides: [Int]? = nil
        var dilations: [Int]? = nil
        var pads: [Int]? = nil
        var autoPad: String? = nil
        var bias = true

        var attributes: [String: Attribute] {
            var result: [String: Attribute] = ["group": .int(group)]
            if let strides { result["strides"] = .ints(strides) }
            if let dilations { result["dilations"] = .ints(dilations) }
            if let pads { result["pads"] = .ints(pads) }
            if let autoPad { result["auto_pad"] = .string(autoPad) }
            return result
        }

        var description: String {
            "N\(batch) C\(channels) M\(outputChannels) g\(group) in\(spatial) k\(kernel) s\(strides ?? []) d\(dilations ?? []) p\(pads ?? []) \(autoPad ?? "") bias=\(bias)"
        }
    }

    /// Runs Conv and the textbook 7-loop reference on the same seeded data.
    static func check(_ test: Case, seed: UInt64, threads: Int = 2) throws {
        let x = T.random([test.batch, test.channels] + test.spatial, seed: seed)
        let w = T.random([test.outputChannels, test.channels / test.group] + test.kernel, seed: seed + 1)
        let b = test.bias ? T.random([test.outputChannels], seed: seed + 2) : nil
        let y = try T.run(Conv.self, [x, w, b], attributes: test.attributes, threads: threads)[0]
        // The output geometry (tested on its own below) sizes the reference's loops.
        let node = Node(name: "conv", opType: "Conv", inputs: [], outputs: [], attributes: test.attributes)
        let geometry = try SlidingWindowAttributes(node: node).forwardGeometry(inputSize: test.spatial, kernel: test.kernel,
                                                                              ceilMode: false)
        #expect(y.shape == [test.batch, test.outputChannels] + geometry.outputSize)
        let inputs = [x, w] + (b.map { [$0] } ?? [])
        let expected = T.reference(y.shape, inputs) { pointers, output in
            ConvolutionKernels.reference(input: pointers[0], weights: pointers[1], bias: test.bias ? pointers[2] : nil,
                                         output: output, batch: test.batch, inputChannels: test.channels,
                                         outputChannels: test.outputChannels, groups: test.group, geometry: geometry)
        }
        T.expectClose(y, expected, rtol: 1e-4, atol: 1e-4, "\(test)")
    }

    static let cases: [Case] = [
        // Pointwise (direct GEMM, no im2col), with and without groups.
        Case(batch: 2, channels: 17, outputChannels: 9, spatial: [7, 9], kernel: [1, 1]),
        Case(batch: 1, channels: 8, outputChannels: 4, group: 2, spatial: [3, 5], kernel: [1, 1], bias: false),
        Case(batch: 1, channels: 3, outputChannels: 2, spatial: [33], kernel: [1]),
        // im2col + sgemm.
        Case(batch: 2, channels: 3, outputChannels: 8, spatial: [15, 16], kernel: [3, 3], pads: [1, 1, 1, 1]),
        Case(channels: 5, outputChannels: 7, spatial: [17, 17], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1]),
        Case(channels: 3, outputChannels: 4, spatial: [33, 31], kernel: [7, 7], strides: [2, 2], pads: [3, 3, 3, 3]),
        Case(channels: 2, outputChannels: 3, spatial: [9, 8], kernel: [3, 2], dilations: [2, 3], pads: [1, 0, 2, 1]),
        Case(channels: 4, outputChannels: 6, group: 2, spatial: [8, 9], kernel: [3, 3], pads: [1, 1, 1, 1]),
        Case(channels: 6, outputChannels: 3, group: 3, spatial: [7, 7], kernel: [2, 2], strides: [1, 2]),
        Case(channels: 2, outputChannels: 2, spatial: [1, 1], kernel: [1, 1], strides: [2, 2], pads: [0, 0, 1, 1]),
        Case(channels: 2, outputChannels: 3, spatial: [4, 4], kernel: [4, 4]),
        Case(channels: 1, outputChannels: 1, spatial: [1, 32], kernel: [1, 5], strides: [1, 3], pads: [0, 4, 0, 4]),
        // Strided 1x1 is not pointwise: it goes through im2col.
        Case(channels: 5, outputChannels: 4, spatial: [9, 9], kernel: [1, 1], strides: [2, 2]),
        // 1-D and 3-D.
        Case(batch: 2, channels: 3, outputChannels: 5, spatial: [31], kernel: [5], strides: [2], pads: [2, 2]),
        Case(channels: 2, outputChannels: 3, spatial: [5, 6, 7], kernel: [3, 2, 3], strides: [1, 2, 1], pads: [1, 0, 1, 1, 1, 0]),
        Case(channels: 4, outputChannels: 4, group: 4, spatial: [4, 5, 3], kernel: [2, 3, 2], pads: [1, 1, 0, 0, 1, 1]),
        // Depthwise (direct kernel): strides, dilations, asymmetric pads, 1-D, widths around SIMD sizes.
        Case(batch: 2, channels: 9, outputChannels: 9, group: 9, spatial: [15, 17], kernel: [3, 3], pads: [1, 1, 1, 1]),
        Case(channels: 8, outputChannels: 8, group: 8, spatial: [16, 16], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1]),
        // Channel groups of four with channels left over, in every image of the batch.
        Case(batch: 3, channels: 6, outputChannels: 6, group: 6, spatial: [7, 30], kernel: [3, 3], strides: [2, 2],
             pads: [0, 1, 2, 0], bias: false),
        Case(channels: 3, outputChannels: 3, group: 3, spatial: [9, 33], kernel: [3, 3], dilations: [2, 2], pads: [2, 2, 2, 2]),
        Case(channels: 4, outputChannels: 4, group: 4, spatial: [7, 8], kernel: [5, 5], pads: [2, 0, 1, 3], bias: false),
        Case(channels: 5, outputChannels: 5, group: 5, spatial: [31], kernel: [3], strides: [2], pads: [1, 1]),
        Case(channels: 2, outputChannels: 2, group: 2, spatial: [3, 3], kernel: [3, 3], strides: [3, 3], pads: [2, 2, 2, 2]),
        // Channel multiplier 2: grouped, not depthwise.
        Case(channels: 4, outputChannels: 8, group: 4, spatial: [6, 7], kernel: [3, 3], pads: [1, 1, 1, 1]),
        // auto_pad.
        Case(channels: 2, outputChannels: 3, spatial: [7, 8], kernel: [3, 3], strides: [2, 2], autoPad: "SAME_UPPER"),
        Case(channels: 2, outputChannels: 3, spatial: [7, 8], kernel: [4, 4], strides: [2, 2], autoPad: "SAME_LOWER"),
        Case(channels: 2, outputChannels: 3, spatial: [7, 8], kernel: [3, 2], strides: [2, 1], autoPad: "VALID"),
        Case(channels: 3, outputChannels: 3, group: 3, spatial: [9, 9], kernel: [3, 3], autoPad: "SAME_UPPER"),
    ]

    @Test(arguments: cases.indices)
    func matchesReferenceConvolution(index: Int) throws {
        try Self.check(Self.cases[index], seed: UInt64(index) * 10)
        try Self.check(Self.cases[index], seed: UInt64(index) * 10 + 5, threads: 1)
    }

    @Test(arguments: [7, 8, 9, 15, 16, 17, 31, 32, 33])
    func matchesReferenceAcrossWidthsAroundVectorSizes(width: Int) throws {
        try Self.check(Case(channels: 3, outputChannels: 3, group: 3, spatial: [3, width], kernel: [3, 3], pads: [1, 1, 1, 1]), seed: 1)
        try Self.check(Case(channels: 3, outputChannels: 3, group: 3, spatial: [2, width], kernel: [1, 3], strides: [1, 2]), seed: 2)
        try Self.check(Case(channels: 2, outputChannels: 5, spatial: [2, width], kernel: [2, 3], pads: [0, 1, 1, 1]), seed: 3)
        try Self.check(Case(channels: width, outputChannels: 4, spatial: [3, 3], kernel: [1, 1]), seed: 4)
    }

    @Test func matchesReferenceOnRandomConfigurations() throws {
        var generator = T.Generator(seed: 42)
        for trial in 0..<40 {
            let rank = Int.random(in: 1...3, using: &generator)
            let group = [1, 1, 2, 3].randomElement(using: &generator)!
            let channels = group * Int.random(in: 1...3, using: &generator)
            let outputChannels = group * Int.random(in: 1...3, using: &generator)
            var spatial: [Int] = [], kernel: [Int] = [], strides: [Int] = [], dilations: [Int] = []
            var padsBegin: [Int] = [], padsEnd: [Int] = []
            for _ in 0..<rank {
                let size = Int.random(in: 1...(rank == 3 ? 6 : 12), using: &generator)
                let dilation = Int.random(in: 1...2, using: &generator)
                let k = Int.random(in: 1...3, using: &generator)
                let extent = (k - 1) * dilation + 1
                let padBegin = Int.random(in: 0...2, using: &generator)
                let padEnd = max(Int.random(in: 0...2, using: &generator), extent - size - padBegin)
                spatial.append(size); kernel.append(k); dilations.append(dilation)
                strides.append(Int.random(in: 1...3, using: &generator))
                padsBegin.append(padBegin); padsEnd.append(padEnd)
            }
            let test = Case(batch: Int.random(in: 1...2, using: &generator), channels: channels,
                            outputChannels: outputChannels, group: group, spatial: spatial, kernel: kernel,
                            strides: strides, dilations: dilations, pads: padsBegin + padsEnd,
                            bias: Bool.random(using: &generator))
            try Self.check(test, seed: UInt64(trial))
        }
    }

    // ONNX spec examples (onnx/backend/test/case/node/conv.py).
    static let specInput = T.tensor([1, 1, 5, 5], (0..<25).map(Float.init))
    static let onesKernel = T.tensor([1, 1, 3, 3], Array(repeating: 1, count: 9))

    @Test func reproducesSpecExamplesWithAndWithoutPadding() throws {
        let padded = try T.run(Conv.self, [Self.specInput, Self.onesKernel],
                               attributes: ["kernel_shape": .ints([3, 3]), "pads": .ints([1, 1, 1, 1])])[0]
        #expect(padded.shape == [1, 1, 5, 5])
        #expect(try padded.scalars(as: Float.self) == [12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81,
                                                        93, 144, 153, 162, 111, 72, 111, 117, 123, 84])
        let unpadded = try T.run(Conv.self, [Self.specInput, Self.onesKernel], attributes: ["kernel_shape": .ints([3, 3])])[0]
        #expect(try unpadded.scalars(as: Float.self) == [54, 63, 72, 99, 108, 117, 144, 153, 162])
    }

    @Test func reproducesSpecStridedExamples() throws {
        let x = T.tensor([1, 1, 7, 5], (0..<35).map(Float.init))
        let strided = try T.run(Conv.self, [x, Self.onesKernel], attributes: ["pads": .ints([1, 1, 1, 1]), "strides": .ints([2, 2])])[0]
        #expect(strided.shape == [1, 1, 4, 3])
        #expect(try strided.scalars(as: Float.self) == [12, 27, 24, 63, 108, 81, 123, 198, 141, 112, 177, 124])
        let unpadded = try T.run(Conv.self, [x, Self.onesKernel], attributes: ["strides": .ints([2, 2])])[0]
        #expect(try unpadded.scalars(as: Float.self) == [54, 72, 144, 162, 234, 252])
        let asymmetric = try T.run(Conv.self, [x, Self.onesKernel], attributes: ["pads": .ints([1, 0, 1, 0]), "strides": .ints([2, 2])])[0]
        #expect(asymmetric.shape == [1, 1, 4, 2])
        #expect(try asymmetric.scalars(as: Float.self) == [21, 33, 99, 117, 189, 207, 171, 183])
    }

    @Test func computesOutputSizesAndAutoPadSplits() throws {
        func geometry(_ attributes: [String: Attribute], input: [Int], kernel: [Int]) throws -> SlidingWindowGeometry {
            try SlidingWindowAttributes(node: Node(name: "n", opType: "Conv", inputs: [], outputs: [], attributes: attributes))
                .forwardGeometry(inputSize: input, kernel: kernel, ceilMode: false)
        }
        // floor((224 + 3 + 3 - 7) / 2) + 1 = 112.
        #expect(try geometry(["strides": .ints([2, 2]), "pads": .ints([3, 3, 3, 3])], input: [224, 224], kernel: [7, 7]).outputSize == [112, 112])
        // SAME: ceil(7 / 2) = 4 outputs, total pad (4 - 1) * 2 + 3 - 7 = 2 split 1/1; kernel 4: 3 split 1/2 (upper) or 2/1 (lower).
        let upper = try geometry(["strides": .ints([2]), "auto_pad": .string("SAME_UPPER")], input: [7], kernel: [4])
        #expect(upper.outputSize == [4] && upper.padsBegin == [1] && upper.padsEnd == [2])
        let lower = try geometry(["strides": .ints([2]), "auto_pad": .string("SAME_LOWER")], input: [7], kernel: [4])
        #expect(lower.outputSize == [4] && lower.padsBegin == [2] && lower.padsEnd == [1])
        // VALID with dilation 2: extent 5, floor((8 - 5) / 1) + 1 = 4; explicit pads are ignored.
        let valid = try geometry(["dilations": .ints([2]), "auto_pad": .string("VALID"), "pads": .ints([3, 3])], input: [8], kernel: [3])
        #expect(valid.outputSize == [4] && valid.padsBegin == [0])
    }

    @Test func infersSymbolicShapes() throws {
        let stem = try T.infer(Conv.self, [TensorType(.float32, ["batch", 3, 224, 224]), TensorType(.float32, [64, 3, 7, 7])],
                               attributes: ["strides": .ints([2, 2]), "pads": .ints([3, 3, 3, 3])])
        #expect(stem[0] == TensorType(.float32, ["batch", 64, 112, 112]))
        let same = try T.infer(Conv.self, [TensorType(.float32, ["n", 8, "h", "w"]), TensorType(.float32, [16, 8, 3, 3]),
                                           TensorType(.float32, [16])], attributes: ["pads": .ints([1, 1, 1, 1])])
        #expect(same[0] == TensorType(.float32, ["n", 16, "h", "w"]))
        let strided = try T.infer(Conv.self, [TensorType(.float32, ["n", 8, "h", 9]), TensorType(.float32, [16, 8, 3, 3])],
                                  attributes: ["strides": .ints([2, 2])])
        #expect(strided[0].shape?[3] == 4)
        if case .symbolic(let name) = strided[0].shape?[2] { #expect(name != "h") } else { Issue.record("expected a fresh symbol") }
    }

    @Test func handlesZeroSizedDims() throws {
        // Empty batch, no output channels, spatial size 0: empty outputs.
        #expect(try T.run(Conv.self, [T.random([0, 3, 5, 5], seed: 1), T.random([4, 3, 3, 3], seed: 2)])[0].shape == [0, 4, 3, 3])
        #expect(try T.run(Conv.self, [T.random([1, 3, 5, 5], seed: 1), T.random([0, 3, 3, 3], seed: 2)])[0].shape == [1, 0, 3, 3])
        #expect(try T.run(Conv.self, [T.random([1, 3, 0, 4], seed: 1), T.random([2, 3, 1, 1], seed: 2)])[0].shape == [1, 2, 0, 4])
        // No input channels: every output is the bias.
        let y = try T.run(Conv.self, [T.random([1, 0, 2, 2], seed: 1), T.random([2, 0, 1, 1], seed: 2), T.tensor([2], [3, -1])])[0]
        #expect(try y.scalars(as: Float.self) == [3, 3, 3, 3, -1, -1, -1, -1])
    }

    @Test func rejectsInconsistentShapesAndAttributes() throws {
        let x = T.random([1, 4, 5, 5], seed: 1)
        func expectError(_ inputs: [Tensor?], _ attributes: [String: Attribute] = [:], _ comment: Comment) {
            #expect(throws: OperatorError.self, comment) { try T.run(Conv.self, inputs, attributes: attributes) }
        }
        expectError([x, T.random([6, 4, 3, 3], seed: 2)], ["group": .int(3)], "group does not divide channels")
        expectError([x, T.random([6, 3, 3, 3], seed: 2)], [:], "W has the wrong channel count")
        expectError([x, T.random([5, 2, 3, 3], seed: 2)], ["group": .int(2)], "output channels not divisible by group")
        expectError([x, T.random([6, 4, 3, 3], seed: 2)], ["kernel_shape": .ints([3, 2])], "kernel_shape disagrees with W")
        expectError([x, T.random([6, 4, 3, 3], seed: 2), T.random([5], seed: 3)], [:], "bias length")
        expectError([x, T.random([6, 4, 3], seed: 2)], [:], "W rank")
        expectError([x, T.random([6, 4, 3, 3], seed: 2)], ["strides": .ints([1])], "strides for one axis")
        expectError([x, T.random([6, 4, 3, 3], seed: 2)], ["pads": .ints([1, 1])], "pads for one axis")
        expectError([x, T.random([6, 4, 7, 7], seed: 2)], [:], "kernel larger than the input")
        expectError([x, T.random([6, 4, 3, 3], seed: 2)], ["auto_pad": .string("SAME")], "unknown auto_pad")
        expectError([x, T.random([6, 4, 3, 3], seed: 2)], ["strides": .ints([0, 1])], "zero stride")
        expectError([x, T.random([6, 4, 3, 3], seed: 2)], ["pads": .ints([-1, 0, 0, 0])], "negative pad")
        expectError([T.random([4, 5], seed: 1), T.random([6, 4], seed: 2)], [:], "input without spatial axes")
    }

    @Test func rejectsAnIm2colBufferTooLargeToAllocate() throws {
        // A 1000x1000 kernel over two 1000x3000 channels: 2 * 10^6 rows x 2001 columns of im2col.
        let x = try Tensor(zeros: .float32, shape: [1, 2, 1000, 3000])
        let w = try Tensor(zeros: .float32, shape: [1, 2, 1000, 1000])
        #expect(throws: OperatorError.self) { try T.run(Conv.self, [x, w]) }
    }

    /// A node reuses the sizes it worked out for the last run's shapes (``LastRunShape``): runs that
    /// change shapes back and forth must still get each shape's own geometry.
    @Test func keepsEachShapesGeometryWhenShapesAlternate() throws {
        var builder = GraphBuilder(name: "alternating")
        let x = builder.input("x", .float32, ["batch", 3, "height", "width"])
        let w = T.random([5, 3, 3, 3], seed: 11), b = T.random([5], seed: 12)
        let attributes: [String: Attribute] = ["pads": .ints([1, 0, 2, 1]), "strides": .ints([2, 1])]
        builder.output(builder.node("Conv", [x, builder.constant(w), builder.constant(b)], attributes: attributes), as: "y")
        let session = try InferenceSession(model: Model(graph: try builder.build()), options: .init(threads: 2))
        for (index, shape) in [[1, 3, 12, 12], [2, 3, 9, 14], [1, 3, 12, 12], [1, 3, 12, 12], [2, 3, 9, 14]].enumerated() {
            let input = T.random(shape, seed: UInt64(20 + index))
            let output = try #require(try session.run(["x": input])["y"])
            T.expectClose(output, try T.run(Conv.self, [input, w, b], attributes: attributes)[0], "run \(index) \(shape)")
        }
    }

    @Test func runsAConvolutionStackInASession() throws {
        var builder = GraphBuilder(name: "stack")
        let x = builder.input("x", .float32, ["batch", 3, 12, 12])
        let w1 = T.random([8, 3, 3, 3], seed: 1), b1 = T.random([8], seed: 2)
        let w2 = T.random([8, 1, 3, 3], seed: 3), w3 = T.random([4, 8, 1, 1], seed: 4)
        var y = builder.node("Conv", [x, builder.constant(w1), builder.constant(b1)],
                             attributes: ["pads": .ints([1, 1, 1, 1]), "strides": .ints([2, 2])])
        y = builder.node("Conv", [y, builder.constant(w2)], attributes: ["group": .int(8), "pads": .ints([1, 1, 1, 1])])
        y = builder.node("Conv", [y, builder.constant(w3)])
        builder.output(y, as: "y")
        let graph = try builder.build()
        #expect(graph.outputs[0].type == TensorType(.float32, ["batch", 4, 6, 6]))
        let session = try InferenceSession(model: Model(graph: graph), options: .init(threads: 2))
        let input = T.random([2, 3, 12, 12], seed: 5)
        let output = try #require(try session.run(["x": input])["y"])
        let first = try T.run(Conv.self, [input, w1, b1], attributes: ["pads": .ints([1, 1, 1, 1]), "strides": .ints([2, 2])])[0]
        let second = try T.run(Conv.self, [first, w2], attributes: ["group": .int(8), "pads": .ints([1, 1, 1, 1])])[0]
        T.expectClose(output, try T.run(Conv.self, [second, w3])[0])
    }
}
