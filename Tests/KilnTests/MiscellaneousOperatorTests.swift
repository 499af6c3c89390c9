import Kiln
import Testing

@Suite struct MiscellaneousOperatorTests {
    private let context = ExecutionContext(threads: 1)

    @Test func rangeCountsLikeNumpyArange() throws {
        let op = try DataMovement.op(RangeOperator.self, inputs: 3)
        func range<T: TensorScalar>(_ start: T, _ limit: T, _ delta: T) throws -> [T] {
            try DataMovement.run(op, [Tensor(scalar: start), Tensor(scalar: limit), Tensor(scalar: delta)])[0].scalars(as: T.self)
        }
        #expect(try range(Int64(0), 5, 1) == [0, 1, 2, 3, 4])
        #expect(try range(Int64(10), 4, -3) == [10, 7])
        #expect(try range(Int64(1), 1, 1) == [])
        #expect(try range(Int64(5), 1, 1) == [])
        #expect(try range(Int32(-3), 4, 2) == [-3, -1, 1, 3])
        #expect(try range(Float(1), 2, 0.25) == [1, 1.25, 1.5, 1.75])
        #expect(try range(Float(0), -1, -0.4) == [0, -0.4, -0.8])
        #expect(DataMovement.operatorError { _ = try range(Int64(0), 5, 0) } == "delta must not be 0")
        #expect(DataMovement.operatorError { _ = try range(Float(0), .infinity, 1) }?.contains("too many elements") == true)
        #expect(DataMovement.operatorError {
            _ = try op.run([Tensor(scalar: Int64(0)), Tensor(scalar: Int32(3)), Tensor(scalar: Int64(1))], context: context)
        }?.contains("must share") == true)
    }

    @Test func rangeOverASymbolicLengthKeepsTheSymbol() throws {
        // torch.arange(x.shape[1]) -> Range(0, Gather(Shape(x), 1), 1).
        var builder = GraphBuilder(name: "positions")
        let x = builder.input("x", .int64, ["batch", "seq"])
        let length = builder.node("Gather", [builder.node("Shape", [x]), builder.constant(Tensor(scalar: Int64(1)))])
        builder.output(builder.node("Range", [builder.constant(Tensor(scalar: Int64(0))), length, builder.constant(Tensor(scalar: Int64(1)))]),
                       as: "positions")
        let graph = try builder.build()
        #expect(graph.outputs[0].type == TensorType(.int64, ["seq"]))
        let session = try InferenceSession(model: Model(graph: graph), options: .init(threads: 1))
        let positions = try session.run(["x": try DataMovement.int64s([1, 2, 3, 4, 5, 6], shape: [2, 3])])["positions"]
        #expect(try positions?.scalars(as: Int64.self) == [0, 1, 2])
    }

    @Test func constantOfShapeFillsAnyDType() throws {
        let defaultOp = try DataMovement.op(ConstantOfShape.self, inputs: 1)
        let zeros = try DataMovement.run(defaultOp, [try DataMovement.int64s([2, 3])])[0]
        #expect(zeros.dtype == .float32)
        #expect(try zeros.scalars(as: Float.self) == [Float](repeating: 0, count: 6))
        for (value, count) in [(Tensor(scalar: Int64(-7)), 5), (Tensor(scalar: Float16(1.5)), 0), (try Tensor(shape: [1], scalars: [true]), 17)] {
            let op = try DataMovement.op(ConstantOfShape.self, inputs: 1, attributes: ["value": .tensor(value)])
            let output = try DataMovement.run(op, [try DataMovement.int64s([count])])[0]
            #expect(output.dtype == value.dtype && output.shape == [count])
            #expect(DataMovement.elements(output).allSatisfy { $0 == DataMovement.bytes(value) })
        }
        let scalar = try DataMovement.run(defaultOp, [try DataMovement.int64s([])])[0]
        #expect(scalar.shape == [] && scalar.count == 1)
        #expect(DataMovement.operatorError { _ = try defaultOp.run([try DataMovement.int64s([2, -1])], context: context) }?
            .contains("shape value -1 at position 1") == true)
        #expect(DataMovement.operatorError {
            _ = try DataMovement.op(ConstantOfShape.self, inputs: 1, attributes: ["value": .tensor(try DataMovement.int64s([1, 2]))])
        }?.contains("one element") == true)
        let symbolic = try DataMovement.infer(defaultOp, [InferenceInput(type: TensorType(.int64, [2]), symbolicValue: ["batch", 4])])
        #expect(symbolic == [TensorType(.float32, ["batch", 4])])
    }

    @Test func dropoutIsIdentityWithATrueMask() throws {
        let op = try DataMovement.op(Dropout.self, inputs: 3, outputs: 2)
        let input = try DataMovement.tensor(.float16, [3, 5])
        let outputs = try DataMovement.run(op, [input, Tensor(scalar: Float(0.3)), Tensor(scalar: false)])
        #expect(outputs[0].storage === input.storage)
        #expect(outputs[1].dtype == .bool)
        #expect(try outputs[1].scalars(as: Bool.self) == [Bool](repeating: true, count: 15))
        #expect(DataMovement.operatorError { _ = try op.run([input, Tensor(scalar: Float(0.3)), Tensor(scalar: true)], context: context) }?
            .contains("not supported") == true)
        // Training mode with ratio 0 keeps everything: still the identity.
        #expect(try op.run([input, Tensor(scalar: Float(0)), Tensor(scalar: true)], context: context)[0].storage === input.storage)
        let old = try DataMovement.op(Dropout.self, inputs: 1, outputs: 2, attributes: ["ratio": .float(0.5)], opset: 7)
        let oldMask = try DataMovement.run(old, [input])[1]
        #expect(oldMask.dtype == .float16 && oldMask.floats().allSatisfy { $0 == 1 })
        #expect(try DataMovement.infer(op, [InferenceInput(type: TensorType(.float32, ["n"]))]) == [TensorType(.float32, ["n"]), TensorType(.bool, ["n"])])
    }

    @Test func sizeIsKnownStaticallyOrSymbolically() throws {
        let op = try DataMovement.op(SizeOperator.self, inputs: 1)
        #expect(try DataMovement.run(op, [try DataMovement.tensor(.int8, [3, 0, 2])])[0].scalars(as: Int64.self) == [0])
        #expect(try DataMovement.run(op, [try DataMovement.tensor(.bool, [3, 5])])[0].scalars(as: Int64.self) == [15])
        #expect(try op.staticOutputs([InferenceInput(type: TensorType(.float32, [4, 5]))])?.first?.scalars(as: Int64.self) == [20])
        #expect(op.staticOutputs([InferenceInput(type: TensorType(.float32, ["n", 5]))]) == nil)
        #expect(op.symbolicValues([InferenceInput(type: TensorType(.float32, ["n", 1]))]).first! == ["n"])
    }

    @Test func triluRejectsLowRankAndHugeK() throws {
        let op = try DataMovement.op(Trilu.self, inputs: 2)
        #expect(DataMovement.operatorError { _ = try op.run([try DataMovement.iota([3])], context: context) }?.contains("rank >= 2") == true)
        // Extreme k values clamp instead of overflowing: all kept or all zeroed.
        let input = try DataMovement.iota([2, 3])
        #expect(try op.run([input, Tensor(scalar: Int64.min)], context: context)[0].scalars(as: Float.self) == [0, 1, 2, 3, 4, 5])
        #expect(try op.run([input, Tensor(scalar: Int64.max)], context: context)[0].scalars(as: Float.self) == [0, 0, 0, 0, 0, 0])
    }

    @Test func oneHotRejectsBadDepthAndValues() throws {
        let op = try DataMovement.op(OneHot.self, inputs: 3)
        let indices = try DataMovement.int64s([0, 1])
        let values = try Tensor(shape: [2], scalars: [0, 1] as [Float])
        #expect(DataMovement.operatorError { _ = try op.run([indices, Tensor(scalar: Int64(0)), values], context: context) }?.contains("at least 1") == true)
        #expect(DataMovement.operatorError { _ = try op.run([indices, Tensor(scalar: Int64(2)), try DataMovement.iota([3])], context: context) }?
            .contains("[off, on]") == true)
        let far = try DataMovement.op(OneHot.self, inputs: 3, attributes: ["axis": .int(2)])
        #expect(DataMovement.operatorError { _ = try far.run([indices, Tensor(scalar: Int64(2)), values], context: context) }?.contains("axis 2") == true)
        // A float depth truncates.
        #expect(try op.run([indices, Tensor(scalar: Float(2.9)), values], context: context)[0].shape == [2, 2])
    }

    @Test func nonZeroHandlesScalarsNegativeZeroAndNaN() throws {
        let op = try DataMovement.op(NonZero.self, inputs: 1)
        let scalar = try DataMovement.run(op, [Tensor(scalar: Float(3))])[0]
        #expect(scalar.shape == [1, 1])
        #expect(try scalar.scalars(as: Int64.self) == [0])
        let special = try DataMovement.run(op, [try Tensor(shape: [4], scalars: [-0.0, .nan, 0, 1] as [Float])])[0]
        #expect(try special.scalars(as: Int64.self) == [1, 3])
        let bools = try DataMovement.run(op, [try Tensor(shape: [2, 2], scalars: [false, true, true, false])])[0]
        #expect(try bools.scalars(as: Int64.self) == [0, 1, 1, 0])
        #expect(try DataMovement.infer(op, [InferenceInput(type: TensorType(.float32, ["n", 3]))])[0].shape?[0] == 2)
    }

    @Test func topKRejectsBadKAndRanksNaNFirst() throws {
        let op = try DataMovement.op(TopK.self, inputs: 2, outputs: 2)
        let input = try Tensor(shape: [4], scalars: [1, .nan, 3, 2] as [Float])
        #expect(DataMovement.operatorError { _ = try op.run([input, try DataMovement.int64s([5])], context: context) }?
            .contains("k 5 is larger than the axis size 4") == true)
        #expect(DataMovement.operatorError { _ = try op.run([input, try DataMovement.int64s([-1])], context: context) }?.contains("negative") == true)
        let outputs = try op.run([input, try DataMovement.int64s([2])], context: context)
        #expect(try outputs[1].scalars(as: Int64.self) == [1, 2])
        #expect(DataMovement.operatorError { _ = try op.run([try Tensor(shape: [1], scalars: [true]), try DataMovement.int64s([1])], context: context) }?
            .contains("bool") == true)
        let old = try DataMovement.op(TopK.self, inputs: 1, outputs: 2, attributes: ["k": .int(1)], opset: 9)
        #expect(try old.run([try DataMovement.iota([2, 3])], context: context)[0].scalars(as: Float.self) == [2, 5])
        let types = try DataMovement.infer(op, [InferenceInput(type: TensorType(.float32, ["batch", 10])), DataMovement.constant(try DataMovement.int64s([3]))])
        #expect(types == [TensorType(.float32, ["batch", 3]), TensorType(.int64, ["batch", 3])])
    }

    @Test func largeTopKAndTriluAgreeAcrossThreadCounts() throws {
        let input = try DataMovement.tensor(.float32, [64, 129])
        let top = try DataMovement.run(DataMovement.op(TopK.self, inputs: 2, outputs: 2), [input, try DataMovement.int64s([17])])
        #expect(top[0].shape == [64, 17])
        let values = try top[0].scalars(as: Float.self)
        #expect((0..<64).allSatisfy { row in (0..<16).allSatisfy { values[row * 17 + $0] >= values[row * 17 + $0 + 1] } })
        _ = try DataMovement.run(DataMovement.op(Trilu.self, inputs: 1), [try DataMovement.tensor(.int64, [9, 300, 300])])
    }

    @Test func cumSumRejectsUnsupportedTypesAndAxes() throws {
        let op = try DataMovement.op(CumSum.self, inputs: 2)
        #expect(DataMovement.operatorError { _ = try op.run([try DataMovement.tensor(.int8, [3]), Tensor(scalar: Int64(0))], context: context) }?
            .contains("int8") == true)
        #expect(DataMovement.operatorError { _ = try op.run([try DataMovement.iota([3]), Tensor(scalar: Int64(1))], context: context) }?
            .contains("axis 1 is out of range") == true)
        // Integer sums wrap instead of trapping.
        let wrapped = try op.run([try Tensor(shape: [2], scalars: [Int32.max, 1]), Tensor(scalar: Int32(0))], context: context)[0]
        #expect(try wrapped.scalars(as: Int32.self) == [Int32.max, Int32.min])
    }
}
