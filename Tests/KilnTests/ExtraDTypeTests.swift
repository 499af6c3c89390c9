import Kiln
import KilnTestSupport
import Testing

/// IsNaN / IsInf, and the dtypes added to MaxPool, ReduceMax, ReduceMin and Range.
@Suite struct ExtraDTypeTests {
    typealias T = ExtraOperatorTesting

    @Test func isNaNAndIsInfOverEdgeSizes() throws {
        let specials: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, 1, .greatestFiniteMagnitude, -.leastNonzeroMagnitude]
        let isNaN = try T.op(IsNaN.self, inputs: 1)
        let isInf = try T.op(IsInf.self, inputs: 1)
        let positiveOnly = try T.op(IsInf.self, inputs: 1, attributes: ["detect_negative": .int(0)])
        let negativeOnly = try T.op(IsInf.self, inputs: 1, attributes: ["detect_positive": .int(0)])
        for size in T.edgeSizes {
            let values = (0..<size).map { specials[$0 % specials.count] }
            for half in [false, true] {
                let x = half ? try Tensor(shape: [size], scalars: values.map { Float16($0) }) : try Tensor(shape: [size], scalars: values)
                // Float16 overflows greatestFiniteMagnitude to infinity.
                let widened = x.floats()
                #expect(try T.run(isNaN, [x])[0].scalars(as: Bool.self) == widened.map(\.isNaN))
                #expect(try T.run(isInf, [x])[0].scalars(as: Bool.self) == widened.map(\.isInfinite))
                #expect(try T.run(positiveOnly, [x])[0].scalars(as: Bool.self) == widened.map { $0 == .infinity })
                #expect(try T.run(negativeOnly, [x])[0].scalars(as: Bool.self) == widened.map { $0 == -.infinity })
            }
        }
        var symbols = SymbolGenerator()
        #expect(try isNaN.inferTypes([InferenceInput(type: TensorType(.float16, ["n", 3]))], symbols: &symbols)
            == [TensorType(.bool, ["n", 3])])
        #expect(T.operatorError { _ = try isInf.inferTypes([InferenceInput(type: TensorType(.int32, [2]))], symbols: &symbols) }?
            .contains("float32 and float16, got int32") == true)
    }

    @Test func maxPoolOnEightBitIntegersMatchesFloatPooling() throws {
        let attributes: [String: Attribute] = ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])]
        let op = try T.op(MaxPool.self, inputs: 1, attributes: attributes)
        for (dtype, range) in [(DType.uint8, 0...255), (DType.int8, -128...127)] {
            for size in [1, 7, 8, 9, 16, 17] {
                let x = try T.integers(dtype, [2, 3, size, size + 1], in: range, seed: UInt64(size))
                let y = try T.run(op, [x])[0]
                let reference = try T.run(op, [try Tensor(shape: x.shape, scalars: x.floats())])[0]
                #expect(y.dtype == dtype && y.shape == reference.shape)
                #expect(y.int64s() == reference.floats().map { Int64($0) }, "\(dtype) size \(size)")
            }
            var symbols = SymbolGenerator()
            #expect(try op.inferTypes([InferenceInput(type: TensorType(dtype, ["n", 3, 9, 9]))], symbols: &symbols)
                == [TensorType(dtype, ["n", 3, 5, 5])])
        }
    }

    @Test func reduceMaxAndMinOnIntegersStayExact() throws {
        let big = Int64(1) << 53
        let x = try Tensor(shape: [2, 3], scalars: [big + 1, big + 3, big + 2, -big - 1, -big - 3, -big])
        let maximum = try T.op(ReduceMax.self, inputs: 2, attributes: ["keepdims": .int(0)])
        let minimum = try T.op(ReduceMin.self, inputs: 2, attributes: ["keepdims": .int(0)])
        let axes = try Tensor(shape: [1], scalars: [Int64(-1)])
        #expect(try T.run(maximum, [x, axes])[0].scalars(as: Int64.self) == [big + 3, -big])
        #expect(try T.run(minimum, [x, axes])[0].scalars(as: Int64.self) == [big + 1, -big - 3])
        #expect(try T.run(maximum, [x, nil])[0].scalars(as: Int64.self) == [big + 3])
        for dtype in [DType.int32, .int8, .uint8, .float16] {
            for size in T.edgeSizes where size > 0 {
                let data = try DataMovement.tensor(dtype, [3, size, 2], seed: UInt64(size))
                let y = try T.run(maximum, [data, try Tensor(shape: [1], scalars: [Int64(1)])])[0]
                let values = data.floats()
                let expected = (0..<6).map { slot -> Float in
                    let (row, column) = (slot / 2, slot % 2)
                    return (0..<size).map { values[(row * size + $0) * 2 + column] }.max()!
                }
                #expect(y.dtype == dtype && y.floats() == expected, "\(dtype) size \(size)")
            }
        }
    }

    @Test func reduceOnBoolAndEmptySets() throws {
        let x = try Tensor(shape: [3, 2], scalars: [true, false, false, false, true, true])
        let maximum = try T.op(ReduceMax.self, inputs: 1, attributes: ["axes": .ints([1]), "keepdims": .int(1)], opset: 13)
        let minimum = try T.op(ReduceMin.self, inputs: 1, attributes: ["axes": .ints([1]), "keepdims": .int(1)], opset: 13)
        let anyTrue = try T.run(maximum, [x])[0]
        #expect(anyTrue.dtype == .bool && anyTrue.shape == [3, 1])
        #expect(try anyTrue.scalars(as: Bool.self) == [true, false, true])
        #expect(try T.run(minimum, [x])[0].scalars(as: Bool.self) == [false, false, true])
        let empty = try Tensor(zeros: .bool, shape: [2, 0])
        #expect(try T.run(maximum, [empty])[0].scalars(as: Bool.self) == [false, false])
        #expect(try T.run(minimum, [empty])[0].scalars(as: Bool.self) == [true, true])
        let emptyInts = try Tensor(zeros: .int32, shape: [2, 0])
        #expect(try T.run(maximum, [emptyInts])[0].scalars(as: Int32.self) == [.min, .min])
        #expect(try T.run(minimum, [try Tensor(zeros: .float16, shape: [1, 0])])[0].scalars(as: Float16.self) == [.infinity])
        var symbols = SymbolGenerator()
        #expect(try maximum.inferTypes([InferenceInput(type: TensorType(.bool, ["n", 4]))], symbols: &symbols)
            == [TensorType(.bool, ["n", 1])])
        #expect(T.operatorError { _ = try maximum.run([x, try Tensor(shape: [1], scalars: [Int64(2)])], context: ExecutionContext(threads: 1)) }?
            .contains("out of range") == true)
    }

    @Test func rangeOnFloat16AddsInHalfPrecision() throws {
        let op = try T.op(RangeOperator.self, inputs: 3)
        let y = try T.run(op, [Tensor(scalar: Float16(1)), Tensor(scalar: Float16(5)), Tensor(scalar: Float16(0.75))])[0]
        #expect(try y.scalars(as: Float16.self) == [1, 1.75, 2.5, 3.25, 4, 4.75])
        var symbols = SymbolGenerator()
        #expect(try op.inferTypes([DataMovement.constant(Tensor(scalar: Float16(0))), DataMovement.constant(Tensor(scalar: Float16(3))),
                                   DataMovement.constant(Tensor(scalar: Float16(1)))], symbols: &symbols) == [TensorType(.float16, [3])])
    }
}
