import Kiln
import Testing

@Suite struct ElementwiseCastTests {
    static func cast(_ input: Tensor, to dtype: DType) throws -> Tensor {
        try ElementwiseTesting.run("Cast", [input], attributes: ["to": .int(dtype.onnxCode)])
    }

    /// Values every dtype holds exactly, in each dtype.
    static func smallValues(_ dtype: DType) throws -> Tensor {
        let shape = [4]
        switch dtype {
        case .float32: return try Tensor(shape: shape, scalars: [0, 1, 2, 100] as [Float])
        case .float16: return try Tensor(shape: shape, scalars: [0, 1, 2, 100] as [Float16])
        case .int64: return try Tensor(shape: shape, scalars: [0, 1, 2, 100] as [Int64])
        case .int32: return try Tensor(shape: shape, scalars: [0, 1, 2, 100] as [Int32])
        case .int8: return try Tensor(shape: shape, scalars: [0, 1, 2, 100] as [Int8])
        case .uint8: return try Tensor(shape: shape, scalars: [0, 1, 2, 100] as [UInt8])
        case .bool: return try Tensor(shape: shape, scalars: [false, true, true, true])
        }
    }

    @Test func everyPairOfDTypesConverts() throws {
        for source in DType.allCases {
            for target in DType.allCases {
                let output = try Self.cast(Self.smallValues(source), to: target)
                #expect(output.dtype == target)
                #expect(output.shape == [4])
                let expected: [Float] = source == .bool || target == .bool ? [0, 1, 1, 1] : [0, 1, 2, 100]
                #expect(output.floats() == expected, "\(source) -> \(target)")
            }
        }
    }

    @Test(arguments: ElementwiseTesting.sizes)
    func floatToIntegerTruncatesAtEverySize(n: Int) throws {
        let values = ElementwiseTesting.floats(n, seed: UInt64(n), in: -1000...1000)
        let output = try Self.cast(Tensor(shape: [n], scalars: values), to: .int32)
        #expect(try output.scalars(as: Int32.self) == values.map { Int32($0.rounded(.towardZero)) })
        let back = try Self.cast(output, to: .float32)
        #expect(try back.scalars(as: Float.self) == values.map { $0.rounded(.towardZero) })
    }

    /// Expected values from ONNX Runtime 1.32 on x86-64 (C leaves NaN and out-of-range undefined).
    @Test func floatToIntegerEdgeCasesMatchOnnxRuntime() throws {
        let input = try Tensor(shape: [8], scalars: [1.7, -1.7, 2.5, -0.5, .nan, 1e10, -1e10, .infinity] as [Float])
        #expect(try Self.cast(input, to: .int32).scalars(as: Int32.self)
            == [1, -1, 2, 0, Int32.min, Int32.min, Int32.min, Int32.min])
        #expect(try Self.cast(input, to: .int64).scalars(as: Int64.self)
            == [1, -1, 2, 0, Int64.min, 10_000_000_000, -10_000_000_000, Int64.min])
        #expect(try Self.cast(input, to: .uint8).scalars(as: UInt8.self) == [1, 255, 2, 0, 0, 0, 0, 0])
        #expect(try Self.cast(input, to: .int8).scalars(as: Int8.self) == [1, -1, 2, 0, 0, 0, 0, 0])
        // The edges of the int32 range: 2^31 no longer fits, -2^31 does.
        let edges = try Tensor(shape: [3], scalars: [2_147_483_520, 2_147_483_648, -2_147_483_648] as [Float])
        #expect(try Self.cast(edges, to: .int32).scalars(as: Int32.self) == [2_147_483_520, Int32.min, Int32.min])
        #expect(try Self.cast(Tensor(shape: [1], scalars: [300.9] as [Float]), to: .uint8).scalars(as: UInt8.self) == [44])
    }

    @Test func integerNarrowingWraps() throws {
        let input = try Tensor(shape: [4], scalars: [300, -129, 255, Int64(Int32.max) + 1] as [Int64])
        #expect(try Self.cast(input, to: .int8).scalars(as: Int8.self) == [44, 127, -1, 0])
        #expect(try Self.cast(input, to: .uint8).scalars(as: UInt8.self) == [44, 127, 255, 0])
        #expect(try Self.cast(input, to: .int32).scalars(as: Int32.self) == [300, -129, 255, Int32.min])
        let bytes = try Tensor(shape: [2], scalars: [200, 5] as [UInt8])
        #expect(try Self.cast(bytes, to: .int8).scalars(as: Int8.self) == [-56, 5])
        #expect(try Self.cast(Tensor(shape: [1], scalars: [-1] as [Int8]), to: .uint8).scalars(as: UInt8.self) == [255])
    }

    @Test func boolConversions() throws {
        let floats = try Tensor(shape: [5], scalars: [0, -0.0, 0.1, .nan, -3] as [Float])
        #expect(try Self.cast(floats, to: .bool).scalars(as: Bool.self) == [false, false, true, true, true])
        let ints = try Tensor(shape: [3], scalars: [0, 2, -1] as [Int64])
        #expect(try Self.cast(ints, to: .bool).scalars(as: Bool.self) == [false, true, true])
        let bools = try Tensor(shape: [2], scalars: [true, false])
        #expect(try Self.cast(bools, to: .float32).scalars(as: Float.self) == [1, 0])
        #expect(try Self.cast(bools, to: .int64).scalars(as: Int64.self) == [1, 0])
    }

    @Test func floatConversionsRoundToNearest() throws {
        let third = try Tensor(shape: [3], scalars: [1.0 / 3, 70000, 1e-8] as [Float])
        #expect(try Self.cast(third, to: .float16).scalars(as: Float16.self) == [Float16(Float(1.0 / 3)), .infinity, 0])
        let halves = try Tensor(shape: [2], scalars: [2.5, -7.75] as [Float16])
        #expect(try Self.cast(halves, to: .int32).scalars(as: Int32.self) == [2, -7])
        #expect(try Self.cast(halves, to: .float32).scalars(as: Float.self) == [2.5, -7.75])
        // 2^24 + 1 is not a Float: int64 -> float rounds to nearest even.
        let large = try Tensor(shape: [2], scalars: [16_777_217, -16_777_219] as [Int64])
        #expect(try Self.cast(large, to: .float32).scalars(as: Float.self) == [16_777_216, -16_777_220])
    }

    @Test func castToTheSameDTypeSharesTheInput() throws {
        let input = try Tensor(shape: [2], scalars: [1, 2] as [Float])
        #expect(try Self.cast(input, to: .float32).isIdentical(to: input))
    }

    @Test func inferenceUsesTheTargetDType() throws {
        #expect(try ElementwiseTesting.infer("Cast", [TensorType(.float32, ["batch", 3])], attributes: ["to": .int(7)])
            == TensorType(.int64, ["batch", 3]))
        #expect(try ElementwiseTesting.infer("Cast", [TensorType(.int64, nil)], attributes: ["to": .int(10), "saturate": .int(1)])
            == TensorType(.float16, nil))
    }

    @Test func castLikeTakesTheSecondInputsDType() throws {
        let input = try Tensor(shape: [3], scalars: [1.9, -2.5, 0] as [Float])
        let like = try Tensor(shape: [0], scalars: [] as [Int32])
        let output = try ElementwiseTesting.run("CastLike", [input, like])
        #expect(try output.scalars(as: Int32.self) == [1, -2, 0])
        #expect(try ElementwiseTesting.infer("CastLike", [TensorType(.float32, ["n", 2]), TensorType(.float16, [1])])
            == TensorType(.float16, ["n", 2]))
    }

    @Test func rejectsUnsupportedTargets() throws {
        let error = #expect(throws: GraphError.self) {
            try ElementwiseTesting.makeOperator("Cast", inputs: 1, attributes: ["to": .int(8)])
        }
        #expect(error.map { "\($0)" }?.contains("STRING") == true)
        #expect(throws: GraphError.self) { try ElementwiseTesting.makeOperator("Cast", inputs: 1) }
        #expect(throws: GraphError.self) {
            try ElementwiseTesting.makeOperator("Cast", inputs: 1, attributes: ["to": .string("float")])
        }
    }
}
