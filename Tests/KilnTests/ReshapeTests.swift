import Kiln
import Testing

@Suite struct ReshapeTests {
    private func reshape(_ input: Tensor, _ shape: [Int], allowZero: Bool = false) throws -> Tensor {
        let op = try DataMovement.op(Reshape.self, inputs: 2, attributes: allowZero ? ["allowzero": .int(1)] : [:])
        return try DataMovement.run(op, [input, try DataMovement.int64s(shape)])[0]
    }

    @Test func copiesZerosAndInfersMinusOne() throws {
        let input = try DataMovement.iota([2, 3, 4])
        #expect(try reshape(input, [0, -1]).shape == [2, 12])
        #expect(try reshape(input, [-1, 0, 2]).shape == [4, 3, 2])
    }

    @Test func sharesTheInputBytesForEveryDType() throws {
        for dtype in DataMovement.allDTypes {
            let input = try DataMovement.tensor(dtype, [3, 5])
            let output = try reshape(input, [5, 3])
            #expect(output.storage === input.storage)
            #expect(output.shape == [5, 3] && output.dtype == dtype)
        }
    }

    @Test func allowZeroMakesZeroAnEmptyDim() throws {
        let empty = try DataMovement.tensor(.float32, [0, 3])
        #expect(try reshape(empty, [3, 0], allowZero: true).shape == [3, 0])
        // Without allowzero the 0 copies the input dim: [0, 3] -> [0 (copied), 3]... then 0 * 3 = 0.
        #expect(try reshape(empty, [0, 3]).shape == [0, 3])
        #expect(try reshape(empty, [-1, 3]).shape == [0, 3])
    }

    @Test func acceptsInt32ShapesAndTheOldAttributeForm() throws {
        let input = try DataMovement.iota([6])
        let op = try DataMovement.op(Reshape.self, inputs: 2)
        #expect(try op.run([input, try DataMovement.int32s([2, -1])], context: ExecutionContext(threads: 1))[0].shape == [2, 3])
        let old = try DataMovement.op(Reshape.self, inputs: 1, attributes: ["shape": .ints([3, 2])], opset: 4)
        #expect(try old.run([input], context: ExecutionContext(threads: 1))[0].shape == [3, 2])
    }

    @Test func rejectsBadShapeValuesNamingThem() throws {
        let input = try DataMovement.iota([2, 3, 4])
        #expect(DataMovement.operatorError { _ = try reshape(input, [4, 0, 0]) }?.contains("(48 elements)") == true)
        #expect(DataMovement.operatorError { _ = try reshape(input, [5, -1]) }?.contains("not a multiple of 5") == true)
        #expect(DataMovement.operatorError { _ = try reshape(input, [-1, -1, 6]) }?.contains("more than one -1") == true)
        #expect(DataMovement.operatorError { _ = try reshape(input, [2, -2, 3]) }?.contains("shape value -2 at position 1") == true)
        #expect(DataMovement.operatorError { _ = try reshape(input, [1, 1, 1, 0]) }?.contains("position 3") == true)
        #expect(DataMovement.operatorError { _ = try reshape(input, [0, -1], allowZero: true) }?.contains("both 0 and -1") == true)
        #expect(DataMovement.operatorError { _ = try reshape(try DataMovement.tensor(.int8, [0, 3]), [0, -1]) }?.contains("multiply to 0") == true)
        let op = try DataMovement.op(Reshape.self, inputs: 2)
        #expect(DataMovement.operatorError {
            _ = try op.run([input, try Tensor(shape: [2], scalars: [4, 6] as [Float])], context: ExecutionContext(threads: 1))
        }?.contains("int64 or int32") == true)
    }

    @Test func infersSymbolicDimsThroughZerosAndMinusOne() throws {
        let op = try DataMovement.op(Reshape.self, inputs: 2)
        let data = InferenceInput(type: TensorType(.float32, ["batch", "seq", 384]))
        func infer(_ shape: [Int]) throws -> TensorType {
            try DataMovement.infer(op, [data, DataMovement.constant(try DataMovement.int64s(shape))])[0]
        }
        #expect(try infer([0, 0, 12, 32]) == TensorType(.float32, ["batch", "seq", 12, 32]))
        #expect(try infer([0, 0, 12, -1]) == TensorType(.float32, ["batch", "seq", 12, 32]))
        #expect(try infer([0, -1, 32]).shape?[1].isFresh == true)  // seq * 12
        #expect(try infer([-1, 384]).shape?[0].isFresh == true)  // batch * seq
        #expect(try infer([0, 0, -1]) == TensorType(.float32, ["batch", "seq", 384]))
        // A shape input that is not constant still gives the rank.
        let dynamic = try DataMovement.infer(op, [data, InferenceInput(type: TensorType(.int64, [3]))])[0]
        #expect(dynamic.rank == 3 && dynamic.shape!.allSatisfy(\.isFresh))
        let unknown = try DataMovement.infer(op, [data, InferenceInput(type: TensorType(.int64, ["n"]))])[0]
        #expect(unknown.shape == nil)
    }

    @Test func inferenceRejectsImpossibleStaticReshapes() throws {
        let op = try DataMovement.op(Reshape.self, inputs: 2)
        let data = InferenceInput(type: TensorType(.float32, [2, 3]))
        #expect(DataMovement.operatorError {
            _ = try DataMovement.infer(op, [data, DataMovement.constant(try DataMovement.int64s([4]))])
        }?.contains("cannot reshape") == true)
        #expect(DataMovement.operatorError {
            _ = try DataMovement.infer(op, [data, InferenceInput(type: TensorType(.float32, [2]))])
        }?.contains("int64 or int32") == true)
    }
}

@Suite struct FlattenTests {
    @Test func flattensAroundTheAxis() throws {
        let input = try DataMovement.tensor(.float16, [2, 3, 4, 5])
        for (axis, expected) in [(0, [1, 120]), (1, [2, 60]), (2, [6, 20]), (4, [120, 1]), (-1, [24, 5]), (-4, [1, 120])] {
            let op = try DataMovement.op(Flatten.self, inputs: 1, attributes: ["axis": .int(axis)])
            let output = try DataMovement.run(op, [input])[0]
            #expect(output.shape == expected, "axis \(axis)")
            #expect(output.storage === input.storage)
        }
        let empty = try DataMovement.run(DataMovement.op(Flatten.self, inputs: 1), [try DataMovement.tensor(.int8, [0, 3, 4])])[0]
        #expect(empty.shape == [0, 12])
    }

    @Test func rejectsOutOfRangeAxes() throws {
        let input = try DataMovement.iota([2, 3])
        for axis in [3, -3] {
            let op = try DataMovement.op(Flatten.self, inputs: 1, attributes: ["axis": .int(axis)])
            #expect(DataMovement.operatorError { _ = try op.run([input], context: ExecutionContext(threads: 1)) }?.contains("axis \(axis)") == true)
        }
    }

    @Test func infersSymbolicProducts() throws {
        let op = try DataMovement.op(Flatten.self, inputs: 1, attributes: ["axis": .int(1)])
        #expect(try DataMovement.infer(op, [InferenceInput(type: TensorType(.float32, ["batch", 3, 4]))]) == [TensorType(.float32, ["batch", 12])])
        let two = try DataMovement.op(Flatten.self, inputs: 1, attributes: ["axis": .int(2)])
        let mixed = try DataMovement.infer(two, [InferenceInput(type: TensorType(.float32, ["batch", "seq", 4]))])[0]
        #expect(mixed.shape?[0].isFresh == true && mixed.shape?[1] == 4)
    }
}

@Suite struct SqueezeTests {
    @Test func removesGivenAxesOrAllOnes() throws {
        let input = try DataMovement.tensor(.int64, [1, 3, 1, 5, 1])
        let op = try DataMovement.op(Squeeze.self, inputs: 2)
        #expect(try DataMovement.run(op, [input, try DataMovement.int64s([0, -1])])[0].shape == [3, 1, 5])
        let all = try DataMovement.run(DataMovement.op(Squeeze.self, inputs: 1), [input])[0]
        #expect(all.shape == [3, 5])
        #expect(all.storage === input.storage)
        let old = try DataMovement.op(Squeeze.self, inputs: 1, attributes: ["axes": .ints([2])], opset: 11)
        #expect(try DataMovement.run(old, [input])[0].shape == [1, 3, 5, 1])
    }

    @Test func rejectsAxesThatAreNotOneOrRepeatOrAreOutOfRange() throws {
        let input = try DataMovement.tensor(.bool, [1, 3])
        let op = try DataMovement.op(Squeeze.self, inputs: 2)
        #expect(DataMovement.operatorError { _ = try op.run([input, try DataMovement.int64s([1])], context: ExecutionContext(threads: 1)) }?
            .contains("axis 1 of size 3") == true)
        #expect(DataMovement.operatorError { _ = try op.run([input, try DataMovement.int64s([0, -2])], context: ExecutionContext(threads: 1)) }?
            .contains("repeats") == true)
        #expect(DataMovement.operatorError { _ = try op.run([input, try DataMovement.int64s([2])], context: ExecutionContext(threads: 1)) }?
            .contains("out of range") == true)
    }

    @Test func infersShapes() throws {
        let op = try DataMovement.op(Squeeze.self, inputs: 2)
        let data = InferenceInput(type: TensorType(.float32, ["batch", 1, "seq"]))
        #expect(try DataMovement.infer(op, [data, DataMovement.constant(try DataMovement.int64s([1]))]) == [TensorType(.float32, ["batch", "seq"])])
        // Without axes, symbolic dims might be 1: the rank is unknown.
        #expect(try DataMovement.infer(DataMovement.op(Squeeze.self, inputs: 1), [data])[0].shape == nil)
        #expect(try DataMovement.infer(DataMovement.op(Squeeze.self, inputs: 1), [InferenceInput(type: TensorType(.int8, [1, 4, 1]))])
            == [TensorType(.int8, [4])])
        #expect(DataMovement.operatorError {
            _ = try DataMovement.infer(op, [InferenceInput(type: TensorType(.float32, [2, 3])), DataMovement.constant(try DataMovement.int64s([0]))])
        } != nil)
    }
}

@Suite struct UnsqueezeTests {
    @Test func insertsAxesAtOutputPositions() throws {
        let input = try DataMovement.tensor(.uint8, [3, 4])
        let op = try DataMovement.op(Unsqueeze.self, inputs: 2)
        for (axes, expected) in [([0], [1, 3, 4]), ([2], [3, 4, 1]), ([-1], [3, 4, 1]), ([0, 3], [1, 3, 4, 1]), ([3, 0], [1, 3, 4, 1]),
                                 ([1, 2], [3, 1, 1, 4]), ([-4, -1], [1, 3, 4, 1])] {
            let output = try DataMovement.run(op, [input, try DataMovement.int64s(axes)])[0]
            #expect(output.shape == expected, "axes \(axes)")
            #expect(output.storage === input.storage)
        }
        let scalar = try DataMovement.run(op, [Tensor(scalar: Int64(7)), try DataMovement.int64s([0])])[0]
        #expect(scalar.shape == [1])
        let old = try DataMovement.op(Unsqueeze.self, inputs: 1, attributes: ["axes": .ints([1])], opset: 11)
        #expect(try DataMovement.run(old, [input])[0].shape == [3, 1, 4])
    }

    @Test func rejectsRepeatedAndOutOfRangeAxes() throws {
        let input = try DataMovement.tensor(.uint8, [3, 4])
        let op = try DataMovement.op(Unsqueeze.self, inputs: 2)
        #expect(DataMovement.operatorError { _ = try op.run([input, try DataMovement.int64s([3])], context: ExecutionContext(threads: 1)) }?
            .contains("axes value 3 is out of range for rank 3") == true)
        #expect(DataMovement.operatorError { _ = try op.run([input, try DataMovement.int64s([1, -3])], context: ExecutionContext(threads: 1)) }?
            .contains("repeats") == true)
        #expect(DataMovement.operatorError { _ = try DataMovement.op(Unsqueeze.self, inputs: 1, opset: 11) } != nil)
    }

    @Test func infersShapes() throws {
        let op = try DataMovement.op(Unsqueeze.self, inputs: 2)
        let data = InferenceInput(type: TensorType(.float32, ["batch", "seq"]))
        #expect(try DataMovement.infer(op, [data, DataMovement.constant(try DataMovement.int64s([1, -1]))])
            == [TensorType(.float32, ["batch", 1, "seq", 1])])
        let dynamic = try DataMovement.infer(op, [data, InferenceInput(type: TensorType(.int64, [2]))])[0]
        #expect(dynamic.rank == 4)
    }
}
