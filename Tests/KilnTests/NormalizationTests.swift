import Kiln
import KilnTestSupport
import Testing

@Suite struct NormalizationTests {
    typealias T = NeuralNetworkTesting

    // MARK: BatchNormalization

    @Test(arguments: [[2, 3], [1, 4, 7, 9], [2, 5, 16], [2, 3, 17, 33], [1, 2, 3, 4, 5], [0, 3, 4, 4], [2, 3, 0, 4]])
    func batchNormalizationMatchesReference(shape: [Int]) throws {
        let channels = shape[1]
        let x = T.random(shape, seed: 1, in: -4...4)
        let scale = T.random([channels], seed: 2), bias = T.random([channels], seed: 3)
        let mean = T.random([channels], seed: 4), variance = T.random([channels], seed: 5, in: 0.1...2)
        let y = try T.run(BatchNormalization.self, [x, scale, bias, mean, variance], attributes: ["epsilon": .float(1e-3)])[0]
        let expected = BatchNormalization.reference(try x.scalars(), shape: shape, scale: try scale.scalars(), bias: try bias.scalars(),
                                                    mean: try mean.scalars(), variance: try variance.scalars(), epsilon: 1e-3)
        T.expectClose(y, T.tensor(shape, expected), rtol: 1e-5, atol: 1e-5, "shape \(shape)")
    }

    @Test func batchNormalizationComputesTheSpecExample() throws {
        // ONNX example: x = [[[[-1, 0, 1]], [[2, 3, 4]]]], s = [1, 1.5], bias = [0, 1], mean = [0, 3], var = [1, 1.5].
        let x = T.tensor([1, 2, 1, 3], [-1, 0, 1, 2, 3, 4])
        let y = try T.run(BatchNormalization.self, [x, T.tensor([2], [1, 1.5]), T.tensor([2], [0, 1]),
                                                    T.tensor([2], [0, 3]), T.tensor([2], [1, 1.5])])[0]
        // (x - mean) / sqrt(var + 1e-5) * s + bias, worked out by hand.
        let firstScale = 1 / Float(1.00001).squareRoot(), secondScale = 1.5 / Float(1.50001).squareRoot()
        T.expectClose(y, T.tensor([1, 2, 1, 3], [-firstScale, 0, firstScale, 1 - secondScale, 1, 1 + secondScale]), rtol: 1e-6)
    }

    @Test func batchNormalizationRejectsTrainingAndBadShapes() throws {
        let x = T.random([1, 3, 2, 2], seed: 1)
        let parameter = T.random([3], seed: 2)
        #expect(throws: OperatorError.self) {
            try T.run(BatchNormalization.self, [x, parameter, parameter, parameter, parameter], attributes: ["training_mode": .int(1)])
        }
        #expect(throws: OperatorError.self) {
            try T.run(BatchNormalization.self, [x, parameter, parameter, parameter, parameter], outputCount: 3)
        }
        #expect(throws: OperatorError.self) {
            try T.run(BatchNormalization.self, [x, T.random([4], seed: 1), parameter, parameter, parameter])
        }
        #expect(throws: OperatorError.self) {
            try T.run(BatchNormalization.self, [T.random([3], seed: 1), parameter, parameter, parameter, parameter])
        }
        let types = try T.infer(BatchNormalization.self, [TensorType(.float32, ["batch", 3, "h", "w"])]
                                + Array(repeating: TensorType(.float32, [3]), count: 4))
        #expect(types[0] == TensorType(.float32, ["batch", 3, "h", "w"]))
    }

    // MARK: LayerNormalization

    @Test(arguments: [1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 384])
    func layerNormalizationMatchesReference(length: Int) throws {
        let x = T.random([3, 2, length], seed: UInt64(length), in: -3...3)
        let scale = T.random([length], seed: 2), bias = T.random([length], seed: 3)
        let outputs = try T.run(LayerNormalization.self, [x, scale, bias], outputCount: 3)
        let expected = LayerNormalization.reference(try x.scalars(), length: length, scale: try scale.scalars(),
                                                    bias: try bias.scalars(), epsilon: 1e-5)
        T.expectClose(outputs[0], T.tensor(x.shape, expected.output), rtol: 1e-4, atol: 1e-5, "Y, length \(length)")
        T.expectClose(outputs[1], T.tensor([3, 2, 1], expected.mean), rtol: 1e-5, atol: 1e-6, "Mean")
        T.expectClose(outputs[2], T.tensor([3, 2, 1], expected.inverseDeviation), rtol: 1e-4, atol: 1e-6, "InvStdDev")
    }

    @Test func layerNormalizationNormalizesTrailingAxesAndBroadcastsScale() throws {
        let x = T.random([2, 3, 4, 5], seed: 4, in: -2...2)
        // axis 1: rows of 3 * 4 * 5 = 60; Scale [4, 5] broadcasts over the leading normalized axis.
        let scale = T.random([4, 5], seed: 5)
        let outputs = try T.run(LayerNormalization.self, [x, scale], attributes: ["axis": .int(1), "epsilon": .float(1e-3)], outputCount: 3)
        let fullScale = Array(repeating: try scale.scalars(as: Float.self), count: 3).flatMap { $0 }
        let expected = LayerNormalization.reference(try x.scalars(), length: 60, scale: fullScale, bias: nil, epsilon: 1e-3)
        T.expectClose(outputs[0], T.tensor(x.shape, expected.output), rtol: 1e-4, atol: 1e-5)
        #expect(outputs[1].shape == [2, 1, 1, 1])
        let negativeAxis = try T.run(LayerNormalization.self, [x, scale], attributes: ["axis": .int(-3), "epsilon": .float(1e-3)])[0]
        T.expectClose(negativeAxis, outputs[0], rtol: 0, atol: 0)
    }

    @Test func layerNormalizationIsAccurateWhenTheMeanDwarfsTheSpread() throws {
        // Values 1000 + noise in [-1, 1]: E[x^2] - E[x]^2 in float loses most digits of the variance
        // (x^2 ~ 1e6 has an ulp of 0.06 against a variance of 0.33); two passes keep ~1e-4.
        let noise = T.random([4, 256], seed: 6)
        let x = T.tensor([4, 256], try noise.scalars(as: Float.self).map { 1_000 + $0 })
        let scale = T.tensor([256], Array(repeating: 1, count: 256))
        let y = try T.run(LayerNormalization.self, [x, scale], attributes: ["epsilon": .float(0)])[0]
        let expected = LayerNormalization.reference(try x.scalars(), length: 256, scale: try scale.scalars(), bias: nil, epsilon: 0)
        T.expectClose(y, T.tensor([4, 256], expected.output), rtol: 1e-3, atol: 1e-3)
    }

    @Test func layerNormalizationInfersShapesAndRejectsBadScale() throws {
        let types = try T.infer(LayerNormalization.self, [TensorType(.float32, ["batch", "seq", 384]), TensorType(.float32, [384]),
                                                          TensorType(.float32, [384])], outputCount: 3)
        #expect(types[0] == TensorType(.float32, ["batch", "seq", 384]))
        #expect(types[1] == TensorType(.float32, ["batch", "seq", 1]))
        #expect(throws: OperatorError.self) {
            try T.run(LayerNormalization.self, [T.random([2, 8], seed: 1), T.random([7], seed: 2)])
        }
        #expect(throws: OperatorError.self) {
            try T.run(LayerNormalization.self, [T.random([2, 8], seed: 1), T.random([8], seed: 2)], attributes: ["axis": .int(2)])
        }
        #expect(try T.run(LayerNormalization.self, [T.random([0, 8], seed: 1), T.random([8], seed: 2)])[0].shape == [0, 8])
    }

    @Test func layerNormalizationRunsInASession() throws {
        var builder = GraphBuilder(name: "layernorm", opset: 17)
        let x = builder.input("x", .float32, ["batch", "seq", 16])
        let scale = T.random([16], seed: 1), bias = T.random([16], seed: 2)
        let y = builder.node("LayerNormalization", [x, builder.constant(scale), builder.constant(bias)])
        builder.output(y, as: "y")
        let session = try InferenceSession(model: Model(graph: builder.build()), options: .init(threads: 2))
        let input = T.random([2, 5, 16], seed: 3)
        let output = try #require(try session.run(["x": input])["y"])
        let expected = LayerNormalization.reference(try input.scalars(), length: 16, scale: try scale.scalars(),
                                                    bias: try bias.scalars(), epsilon: 1e-5)
        T.expectClose(output, T.tensor([2, 5, 16], expected.output), rtol: 1e-4, atol: 1e-5)
    }

    // MARK: InstanceNormalization

    @Test(arguments: [[1, 2, 7], [2, 3, 4, 4], [1, 2, 17, 33], [2, 1, 2, 3, 5], [0, 2, 3], [1, 3, 16]])
    func instanceNormalizationMatchesReference(shape: [Int]) throws {
        let x = T.random(shape, seed: 8, in: -5...5)
        let scale = T.random([shape[1]], seed: 9), bias = T.random([shape[1]], seed: 10)
        let y = try T.run(InstanceNormalization.self, [x, scale, bias], attributes: ["epsilon": .float(1e-4)])[0]
        let expected = InstanceNormalization.reference(try x.scalars(), shape: shape, scale: try scale.scalars(),
                                                       bias: try bias.scalars(), epsilon: 1e-4)
        T.expectClose(y, T.tensor(shape, expected), rtol: 1e-4, atol: 1e-5, "shape \(shape)")
    }

    @Test func instanceNormalizationComputesAnExampleByHand() throws {
        // Plane [1, 3]: mean 2, variance 1 -> [-1, 1] * 2 + 0.5 (epsilon 0).
        let y = try T.run(InstanceNormalization.self, [T.tensor([1, 1, 2], [1, 3]), T.tensor([1], [2]), T.tensor([1], [0.5])],
                          attributes: ["epsilon": .float(0)])[0]
        #expect(try y.scalars(as: Float.self) == [-1.5, 2.5])
        #expect(throws: OperatorError.self) {
            try T.run(InstanceNormalization.self, [T.random([1, 3, 4], seed: 1), T.random([2], seed: 2), T.random([3], seed: 3)])
        }
    }

    // MARK: LRN

    @Test(arguments: [1, 2, 3, 5])
    func localResponseNormalizationMatchesReference(size: Int) throws {
        for shape in [[1, 7, 3, 3], [2, 4, 17], [1, 3, 1, 33]] {
            let x = T.random(shape, seed: UInt64(size), in: -3...3)
            let y = try T.run(LRN.self, [x], attributes: ["size": .int(size), "alpha": .float(0.01), "beta": .float(0.75), "bias": .float(2)])[0]
            let expected = LRN.reference(try x.scalars(), shape: shape, alpha: 0.01, beta: 0.75, bias: 2, size: size)
            T.expectClose(y, T.tensor(shape, expected), rtol: 1e-5, atol: 1e-6, "size \(size) shape \(shape)")
        }
    }

    @Test func localResponseNormalizationComputesAnExampleByHand() throws {
        // Channels [1, 2, 3], size 3, alpha 3 (alpha / size = 1), bias 1, beta 1:
        // windows {1, 2}, {1, 2, 3}, {2, 3} -> squares 5, 14, 13 -> [1 / 6, 2 / 15, 3 / 14].
        let y = try T.run(LRN.self, [T.tensor([1, 3, 1, 1], [1, 2, 3])],
                          attributes: ["size": .int(3), "alpha": .float(3), "beta": .float(1), "bias": .float(1)])[0]
        T.expectClose(y, T.tensor([1, 3, 1, 1], [1.0 / 6, 2.0 / 15, 3.0 / 14]), rtol: 1e-6)
        #expect(throws: OperatorError.self) { try T.run(LRN.self, [T.random([1, 3, 2], seed: 1)]) }
    }
}
