import Kiln
import KilnTestSupport
import Testing

@Suite struct ConvTransposeTests {
    typealias T = NeuralNetworkTesting

    struct Case: CustomStringConvertible, Sendable {
        var batch = 1, channels = 2, outputsPerGroup = 3, group = 1
        var spatial: [Int] = [4, 4]
        var kernel: [Int] = [3, 3]
        var attributes: [String: Attribute] = [:]
        var bias = true
        var description: String { "N\(batch) C\(channels) M/g\(outputsPerGroup) g\(group) in\(spatial) k\(kernel) \(attributes)" }
    }

    static let cases: [Case] = [
        Case(),
        Case(batch: 2, spatial: [5, 7], attributes: ["strides": .ints([2, 2])]),
        Case(spatial: [5, 6], kernel: [4, 4], attributes: ["strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])]),
        Case(spatial: [3, 4], kernel: [3, 2], attributes: ["strides": .ints([3, 2]), "dilations": .ints([2, 1]), "pads": .ints([1, 0, 2, 1])]),
        Case(spatial: [4, 5], attributes: ["strides": .ints([2, 2]), "output_padding": .ints([1, 1])]),
        Case(channels: 4, outputsPerGroup: 2, group: 2, spatial: [5, 5], attributes: ["strides": .ints([2, 1])]),
        Case(channels: 3, outputsPerGroup: 1, group: 3, spatial: [6, 6], kernel: [4, 4], attributes: ["strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])]),
        Case(spatial: [9], kernel: [3], attributes: ["strides": .ints([2])], bias: false),
        Case(spatial: [17], kernel: [5], attributes: ["strides": .ints([4]), "pads": .ints([2, 1])]),
        Case(spatial: [2, 3, 2], kernel: [2, 2, 3], attributes: ["strides": .ints([2, 1, 2])]),
        Case(spatial: [3, 3], attributes: ["strides": .ints([3, 2]), "output_shape": .ints([10, 8])]),
        Case(spatial: [3, 4], attributes: ["strides": .ints([2, 2]), "auto_pad": .string("SAME_UPPER")]),
        Case(spatial: [3, 4], kernel: [4, 4], attributes: ["strides": .ints([2, 2]), "auto_pad": .string("SAME_LOWER")]),
        Case(spatial: [3, 4], attributes: ["strides": .ints([2, 2]), "auto_pad": .string("VALID"), "pads": .ints([1, 1, 1, 1])]),
        Case(channels: 1, outputsPerGroup: 1, spatial: [1, 33], kernel: [1, 3], attributes: ["pads": .ints([0, 1, 0, 1])]),
    ]

    @Test(arguments: cases.indices)
    func matchesReferenceTransposedConvolution(index: Int) throws {
        let test = Self.cases[index]
        let x = T.random([test.batch, test.channels] + test.spatial, seed: UInt64(index))
        let w = T.random([test.channels, test.outputsPerGroup] + test.kernel, seed: UInt64(index) + 1)
        let outputChannels = test.outputsPerGroup * test.group
        let b = test.bias ? T.random([outputChannels], seed: UInt64(index) + 2) : nil
        var attributes = test.attributes
        attributes["group"] = .int(test.group)
        let y = try T.run(ConvTranspose.self, [x, w, b], attributes: attributes)[0]
        #expect(y.shape[0] == test.batch && y.shape[1] == outputChannels)
        // Reconstruct pads from the produced size, independently of the operator: the sizes are
        // checked by the formula tests below.
        let rank = test.spatial.count
        var strides = [Int](repeating: 1, count: rank), dilations = [Int](repeating: 1, count: rank)
        if case .ints(let values) = attributes["strides"] { strides = values }
        if case .ints(let values) = attributes["dilations"] { dilations = values }
        var padsBegin = [Int](repeating: 0, count: rank)
        if case .ints(let pads) = attributes["pads"], attributes["auto_pad"] == nil { padsBegin = Array(pads[0..<rank]) }
        for axis in 0..<rank where attributes["output_shape"] != nil || attributes["auto_pad"] != nil {
            var extra = 0
            if case .ints(let padding) = attributes["output_padding"] { extra = padding[axis] }
            let total = strides[axis] * (test.spatial[axis] - 1) + extra + (test.kernel[axis] - 1) * dilations[axis] + 1 - y.shape[axis + 2]
            let upper: Bool = { if case .string("SAME_UPPER") = attributes["auto_pad"] { return true }; return false }()
            if case .string("VALID") = attributes["auto_pad"] { padsBegin[axis] = 0; continue }
            // The spec's total / 2 with Python's floor division (total is negative when output_shape
            // asks for more than the natural size: the extra positions come at the end).
            let half = total >= 0 ? total / 2 : -((-total + 1) / 2)
            padsBegin[axis] = upper ? half : total - half
        }
        let geometry = SlidingWindowGeometry(inputSize: Array(y.shape[2...]), outputSize: test.spatial, kernel: test.kernel,
                                             strides: strides, dilations: dilations, padsBegin: padsBegin, padsEnd: padsBegin)
        let expected = T.reference(y.shape, [x, w] + (b.map { [$0] } ?? [])) { pointers, output in
            TransposedConvolutionKernels.reference(input: pointers[0], weights: pointers[1], bias: test.bias ? pointers[2] : nil,
                                                   output: output, batch: test.batch, inputChannels: test.channels,
                                                   outputChannels: outputChannels, groups: test.group, geometry: geometry)
        }
        T.expectClose(y, expected, rtol: 1e-4, atol: 1e-5, "\(test)")
    }

    @Test func computesTheSpecExampleByHand() throws {
        // Every input value spread over a 3x3 block of ones: output (i, j) sums x over the inputs
        // whose block covers it, e.g. (1, 1) = 0 + 1 + 3 + 4 = 8.
        let x = T.tensor([1, 1, 3, 3], (0..<9).map(Float.init))
        let w = T.tensor([1, 2, 3, 3], Array(repeating: 1, count: 18))
        let y = try T.run(ConvTranspose.self, [x, w])[0]
        #expect(y.shape == [1, 2, 5, 5])
        let plane: [Float] = [0, 1, 3, 3, 2, 3, 8, 15, 12, 7, 9, 21, 36, 27, 15, 9, 20, 33, 24, 13, 6, 13, 21, 15, 8]
        #expect(try y.scalars(as: Float.self) == plane + plane)
        let oneD = try T.run(ConvTranspose.self, [T.tensor([1, 1, 3], [0, 1, 2]), T.tensor([1, 2, 3], Array(repeating: 1, count: 6))])[0]
        #expect(try oneD.scalars(as: Float.self) == [0, 1, 3, 3, 2, 0, 1, 3, 3, 2])
    }

    @Test func computesOutputSizes() throws {
        let inputs = [TensorType(.float32, ["n", 4, 7, 9]), TensorType(.float32, [4, 6, 3, 3])]
        // 2 * (7 - 1) + 3 - 2 = 13 and 2 * 8 + 1 + 3 - 2 = 18.
        let padded = try T.infer(ConvTranspose.self, inputs, attributes: ["strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1]),
                                                                          "output_padding": .ints([0, 1])])
        #expect(padded[0] == TensorType(.float32, ["n", 6, 13, 18]))
        let same = try T.infer(ConvTranspose.self, inputs, attributes: ["strides": .ints([2, 2]), "auto_pad": .string("SAME_UPPER")])
        #expect(same[0] == TensorType(.float32, ["n", 6, 14, 18]))
        let explicit = try T.infer(ConvTranspose.self, inputs, attributes: ["strides": .ints([2, 2]), "output_shape": .ints([15, 20])])
        #expect(explicit[0] == TensorType(.float32, ["n", 6, 15, 20]))
        let grouped = try T.infer(ConvTranspose.self, inputs, attributes: ["group": .int(2)])
        #expect(grouped[0] == TensorType(.float32, ["n", 12, 9, 11]))
    }

    @Test func rejectsInconsistentShapes() throws {
        let x = T.random([1, 4, 3, 3], seed: 1)
        #expect(throws: OperatorError.self, "W channels") { try T.run(ConvTranspose.self, [x, T.random([3, 2, 3, 3], seed: 2)]) }
        #expect(throws: OperatorError.self, "group") { try T.run(ConvTranspose.self, [x, T.random([4, 2, 3, 3], seed: 2)], attributes: ["group": .int(3)]) }
        #expect(throws: OperatorError.self, "bias") {
            try T.run(ConvTranspose.self, [x, T.random([4, 2, 3, 3], seed: 2), T.random([3], seed: 3)])
        }
        #expect(throws: OperatorError.self, "output_padding") {
            try T.run(ConvTranspose.self, [x, T.random([4, 2, 3, 3], seed: 2)], attributes: ["output_padding": .ints([1])])
        }
        #expect(throws: OperatorError.self, "negative output") {
            try T.run(ConvTranspose.self, [x, T.random([4, 2, 3, 3], seed: 2)], attributes: ["pads": .ints([3, 3, 3, 3])])
        }
        #expect(try T.run(ConvTranspose.self, [T.random([0, 4, 3, 3], seed: 1), T.random([4, 2, 3, 3], seed: 2)])[0].shape == [0, 2, 5, 5])
    }
}
