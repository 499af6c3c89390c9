import Kiln
import KilnTestSupport
import Testing

@Suite struct ResizeTests {
    typealias T = ExtraOperatorTesting

    @Test(arguments: ExtraOperatorFixtures.resize)
    func matchesOnnxRuntime(_ fixture: OperatorFixture) throws {
        try T.check(fixture, rtol: 1e-5, atol: 1e-5)
    }

    static let samplings: [ResizeSampling] = [
        ResizeSampling(mode: .linear, coordinates: .halfPixel, nearest: .roundPreferFloor),
        ResizeSampling(mode: .linear, coordinates: .alignCorners, nearest: .roundPreferFloor),
        ResizeSampling(mode: .linear, coordinates: .pytorchHalfPixel, nearest: .roundPreferFloor, antialias: true),
        ResizeSampling(mode: .cubic, coordinates: .halfPixel, nearest: .roundPreferFloor),
        ResizeSampling(mode: .cubic, coordinates: .asymmetric, nearest: .roundPreferFloor, cubicCoefficient: -0.5,
                       excludeOutside: true),
        ResizeSampling(mode: .cubic, coordinates: .halfPixelSymmetric, nearest: .roundPreferFloor, antialias: true),
        ResizeSampling(mode: .linear, coordinates: .tfCropAndResize, nearest: .roundPreferFloor, extrapolationValue: -9),
    ]

    /// The separable passes against the all-axes-at-once tensor-product reference.
    @Test func separableKernelMatchesTheReference() throws {
        for (index, sampling) in Self.samplings.enumerated() {
            // Each edge size along the last axis (the dot-product pass) and along a middle one (the
            // row pass, vectorized over the trailing axis).
            for (size, shape) in T.edgeSizes.flatMap({ [($0, [1, 2, 5, $0]), ($0, [2, 1, $0, 6])] }) {
                let input = try T.floats(shape, seed: UInt64(index * 100 + size))
                for scales: [Float] in [[1, 1, 2, 0.75], [1, 1, 0.5, 1.5], [1, 1, 1, 1]] {
                    let roi: [Float]? = sampling.coordinates == .tfCropAndResize ? [0, 0, -0.1, 0.2, 1, 1, 0.9, 1.3] : nil
                    let target = try ResizeSampling.target(inputShape: shape, axes: [0, 1, 2, 3], scales: scales, sizes: nil,
                                                           roi: roi, policy: .stretch)
                    let actual = try sampling.resize(input, to: target, context: ExecutionContext(threads: 2))
                    let plans = sampling.plans(inputShape: shape, target: target)
                    var expected = [Float](repeating: 0, count: target.outputShape.reduce(1, *))
                    if !expected.isEmpty {
                        input.withUnsafePointer(as: Float.self) { source in
                            expected.withUnsafeMutableBufferPointer { destination in
                                ResizeKernels.reference(source, inputShape: shape, plans: plans, extrapolationValue: sampling.extrapolationValue,
                                                        into: destination.baseAddress!)
                            }
                        }
                    }
                    T.expectMatches(actual, try Tensor(shape: target.outputShape, scalars: expected), rtol: 1e-5, atol: 1e-5,
                                    "\(sampling.mode) \(sampling.coordinates) shape \(shape) scales \(scales)")
                }
            }
        }
    }

    @Test func upsampleNearestSpecExample() throws {
        // The ONNX Upsample example: scales [1, 1, 2, 3] repeat rows twice and columns three times.
        let op = try T.op(Upsample.self, inputs: 2, opset: 9)
        let x = try Tensor(shape: [1, 1, 2, 2], scalars: [Float(1), 2, 3, 4])
        let y = try T.run(op, [x, try Tensor(shape: [4], scalars: [Float(1), 1, 2, 3])])[0]
        #expect(y.shape == [1, 1, 4, 6])
        #expect(try y.scalars(as: Float.self) == [1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4])
    }

    @Test func halfPixelBilinearByHand() throws {
        // [1, 3] upsampled x2 along the last axis: x_original = (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25,
        // clamped at the edges: 1, 1.5, 2.5, 3.
        let op = try T.op(Resize.self, inputs: 3, omitted: [1], attributes: ["mode": .string("linear")], opset: 13)
        let y = try T.run(op, [try Tensor(shape: [1, 2], scalars: [Float(1), 3]), nil, try Tensor(shape: [2], scalars: [Float(1), 2])])[0]
        #expect(try y.scalars(as: Float.self) == [1, 1.5, 2.5, 3])
    }

    @Test func nearestMovesAnyDType() throws {
        let op = try T.op(Resize.self, inputs: 4, omitted: [1, 2], attributes: ["mode": .string("nearest")], opset: 19)
        let sizes = try Tensor(shape: [2], scalars: [Int64(2), 4])
        for dtype in [DType.float16, .int64, .int32, .int8, .uint8, .bool] {
            let x = try DataMovement.tensor(dtype, [1, 2])
            let y = try T.run(op, [x, nil, nil, sizes])[0]
            #expect(y.dtype == dtype && y.shape == [2, 4])
            let elements = DataMovement.elements(x)
            // half_pixel, round_prefer_floor: columns 0, 0, 1, 1 (x_original -0.25, 0.25, 0.75, 1.25).
            #expect(DataMovement.elements(y) == [0, 0, 1, 1, 0, 0, 1, 1].map { elements[$0] }, "\(dtype)")
        }
    }

    @Test func keepAspectRatioPolicies() throws {
        let shape = [4, 6]
        let notLarger = try ResizeSampling.target(inputShape: shape, axes: [0, 1], scales: nil, sizes: [2, 9], roi: nil, policy: .notLarger)
        #expect(notLarger.outputShape == [2, 3] && notLarger.scales == [0.5, 0.5])
        let notSmaller = try ResizeSampling.target(inputShape: shape, axes: [0, 1], scales: nil, sizes: [2, 9], roi: nil, policy: .notSmaller)
        #expect(notSmaller.outputShape == [6, 9] && notSmaller.scales == [1.5, 1.5])
        // round_int rounds halves up: 5 * 0.5 = 2.5 -> 3.
        let halves = try ResizeSampling.target(inputShape: [5, 8], axes: [0, 1], scales: nil, sizes: [9, 4], roi: nil, policy: .notLarger)
        #expect(halves.outputShape == [3, 4])
        let scaled = try ResizeSampling.target(inputShape: [1, 3, 5, 5], axes: [2, 3], scales: [0.6, 1.5], sizes: nil, roi: nil, policy: .stretch)
        #expect(scaled.outputShape == [1, 3, 3, 7])
    }

    @Test func legacyNearestRoundsDownWhenEnlargingUpWhenShrinking() throws {
        let sampling = ResizeSampling(mode: .nearest, coordinates: .asymmetric, nearest: .legacy)
        // Enlarging 3 -> 5 (scale 5/3): x = 0, 0.6, 1.2, 1.8, 2.4 -> 0, 0, 1, 1, 2.
        #expect(sampling.plan(inputLength: 3, outputLength: 5, scale: 5.0 / 3).indices == [0, 0, 1, 1, 2])
        // Shrinking 5 -> 3 (scale 0.6): x = 0, 1.67, 3.33 -> 0, 2, 4.
        #expect(sampling.plan(inputLength: 5, outputLength: 3, scale: 0.6).indices == [0, 2, 4])
    }

    @Test func inferenceFromConstantAndRuntimeParameters() throws {
        var symbols = SymbolGenerator()
        let op = try T.op(Resize.self, inputs: 3, omitted: [1], attributes: ["mode": .string("linear")], opset: 13)
        let scales = try Tensor(shape: [4], scalars: [Float(1), 1, 2, 2])
        let symbolic = try op.inferTypes([InferenceInput(type: TensorType(.float32, ["n", 3, 8, 8])), .absent,
                                          DataMovement.constant(scales)], symbols: &symbols)
        #expect(symbolic == [TensorType(.float32, ["n", 3, 16, 16])])
        let runtime = try op.inferTypes([InferenceInput(type: TensorType(.float32, ["n", 3, 8, 8])), .absent,
                                         InferenceInput(type: TensorType(.float32, [4]))], symbols: &symbols)
        #expect(runtime[0].shape?.count == 4 && runtime[0].shape?.allSatisfy(\.isFresh) == true)
        let sized = try T.op(Resize.self, inputs: 4, omitted: [1, 2], attributes: ["axes": .ints([2, 3])], opset: 19)
        let sizes = try Tensor(shape: [2], scalars: [Int64(7), 9])
        let sizedTypes = try sized.inferTypes([InferenceInput(type: TensorType(.uint8, ["n", 3, "h", "w"])), .absent, .absent,
                                               DataMovement.constant(sizes)], symbols: &symbols)
        #expect(sizedTypes == [TensorType(.uint8, ["n", 3, 7, 9])])
        let upsample = try T.op(Upsample.self, inputs: 1, attributes: ["scales": .floats([1, 1, 2, 2.5])], opset: 7)
        #expect(try upsample.inferTypes([InferenceInput(type: TensorType(.float32, ["n", 3, 4, 5]))], symbols: &symbols)
            == [TensorType(.float32, ["n", 3, 8, 12])])
    }

    @Test func extremeScalesGiveEmptyOutputsWithoutTrapping() throws {
        let x = try T.floats([1, 1, 6, 6])
        for mode in ["nearest", "linear", "cubic"] {
            let op = try T.op(Resize.self, inputs: 4, omitted: [1], attributes: ["mode": .string(mode), "antialias": .int(1),
                                                                                 "coordinate_transformation_mode": .string("half_pixel_symmetric")])
            let tiny = try T.run(op, [x, nil, try Tensor(shape: [4], scalars: [Float(1), 1, 1e-30, 0.5]), nil])[0]
            #expect(tiny.shape == [1, 1, 0, 3])
            let notLarger = try T.op(Resize.self, inputs: 4, omitted: [1, 2], attributes: [
                "mode": .string(mode), "antialias": .int(1), "keep_aspect_ratio_policy": .string("not_larger"), "axes": .ints([2, 3])])
            let zero = try T.run(notLarger, [x, nil, nil, try Tensor(shape: [2], scalars: [Int64(0), 9])])[0]
            #expect(zero.shape == [1, 1, 0, 0])
            // The smallest non-empty antialiased output: one pixel from the whole plane (scale 1/6).
            let one = try T.run(notLarger, [x, nil, nil, try Tensor(shape: [2], scalars: [Int64(1), 9])])[0]
            #expect(one.shape == [1, 1, 1, 1])
            let finite = one.floats().allSatisfy { $0.isFinite }
            #expect(finite)
        }
    }

    @Test func rejectsBadParameters() throws {
        let context = ExecutionContext(threads: 1)
        let x = try T.floats([1, 1, 2, 2])
        let op = try T.op(Resize.self, inputs: 4, omitted: [1], attributes: ["mode": .string("linear")], opset: 19)
        let scales = try Tensor(shape: [4], scalars: [Float(1), 1, 2, 2])
        let sizes = try Tensor(shape: [4], scalars: [Int64(1), 1, 3, 3])
        #expect(T.operatorError { _ = try op.run([x, nil, scales, sizes], context: context) }?.contains("only one of scales and sizes") == true)
        #expect(T.operatorError { _ = try op.run([x, nil, nil, nil], context: context) }?.contains("one of scales and sizes must be given") == true)
        #expect(T.operatorError { _ = try op.run([x, nil, try Tensor(shape: [2], scalars: [Float(2), 2]), nil], context: context) }?
            .contains("expected 4") == true)
        #expect(T.operatorError { _ = try op.run([x, nil, try Tensor(shape: [4], scalars: [Float(1), 1, 0, 2]), nil], context: context) }?
            .contains("positive") == true)
        #expect(T.operatorError { _ = try op.run([x, nil, nil, try Tensor(shape: [4], scalars: [Int64(1), 1, -3, 2])], context: context) }?
            .contains("must not be negative") == true)
        #expect(T.operatorError { _ = try op.run([try T.integers(.int32, [1, 1, 2, 2], in: 0...9), nil, scales, nil], context: context) }?
            .contains("linear resizing supports float32 and float16") == true)
        #expect(T.operatorError { _ = try T.op(Resize.self, inputs: 3, attributes: ["mode": .string("bicubic")]) }?
            .contains("mode must be") == true)
        #expect(T.operatorError { _ = try T.op(Resize.self, inputs: 3, attributes: ["coordinate_transformation_mode": .string("corners")]) }?
            .contains("'corners' is not one of") == true)
        #expect(T.operatorError { _ = try T.op(Resize.self, inputs: 3, attributes: ["nearest_mode": .string("legacy")]) }?
            .contains("nearest_mode must be") == true)
        #expect(T.operatorError { _ = try T.op(Resize.self, inputs: 3, attributes: ["mode": .string("cubic")], opset: 10) }?
            .contains("expects 2 inputs") == true)
        let axes = try T.op(Resize.self, inputs: 3, attributes: ["axes": .ints([1, 1])], opset: 19)
        #expect(T.operatorError { _ = try axes.run([x, nil, try Tensor(shape: [2], scalars: [Float(2), 2])], context: context) }?
            .contains("repeats axis") == true)
        let crop = try T.op(Resize.self, inputs: 4, attributes: ["coordinate_transformation_mode": .string("tf_crop_and_resize")], opset: 19)
        #expect(T.operatorError { _ = try crop.run([x, try Tensor(shape: [2], scalars: [Float(0), 1]), nil, sizes], context: context) }?
            .contains("roi has 2 values, expected 8") == true)
        let upsample = try T.op(Upsample.self, inputs: 2, opset: 9)
        #expect(T.operatorError { _ = try upsample.run([x, try Tensor(shape: [4], scalars: [Float(1), 1, 0.5, 2])], context: context) }?
            .contains("at least 1") == true)
        #expect(T.operatorError { _ = try T.op(Upsample.self, inputs: 1, attributes: ["mode": .string("cubic"), "scales": .floats([1, 2])], opset: 7) }?
            .contains("nearest or linear") == true)
    }
}
