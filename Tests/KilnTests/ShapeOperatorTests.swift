import Kiln
import Testing

@Suite struct ShapeOperatorTests {
    @Test func returnsTheShapeOrARangeOfIt() throws {
        let input = try DataMovement.tensor(.int8, [2, 3, 4])
        for (start, end, expected) in [(nil, nil, [2, 3, 4]), (-1, nil, [4]), (nil, -1, [2, 3]), (1, 2, [3]),
                                       (-10, 10, [2, 3, 4]), (2, 1, []), (3, nil, [])] as [(Int?, Int?, [Int64])] {
            var attributes: [String: Attribute] = [:]
            if let start { attributes["start"] = .int(start) }
            if let end { attributes["end"] = .int(end) }
            let op = try DataMovement.op(ShapeOperator.self, inputs: 1, attributes: attributes)
            let output = try DataMovement.run(op, [input])[0]
            #expect(output.dtype == .int64 && output.shape == [expected.count])
            #expect(try output.scalars(as: Int64.self) == expected, "start \(String(describing: start)) end \(String(describing: end))")
            #expect(try DataMovement.infer(op, [InferenceInput(type: TensorType(.int8, [2, 3, 4]))])
                == [TensorType(.int64, [.fixed(expected.count)])])
        }
    }

    @Test func staticShapesAreKnownBeforeRunning() throws {
        let op = try DataMovement.op(ShapeOperator.self, inputs: 1, attributes: ["start": .int(1)])
        let known = op.staticOutputs([InferenceInput(type: TensorType(.float32, ["batch", 3, 4]))])
        #expect(try known?.first?.scalars(as: Int64.self) == [3, 4])
        #expect(op.staticOutputs([InferenceInput(type: TensorType(.float32, [2, "seq"]))]) == nil)
        #expect(op.symbolicValues([InferenceInput(type: TensorType(.float32, [2, "seq", 5]))]).first! == ["seq", 5])
    }
}

@Suite struct ExpandTests {
    /// Output coordinates map to the input by dropping leading axes and pinning size-1 axes to 0.
    static func naiveExpand(_ input: Tensor, to outputShape: [Int]) throws -> Tensor {
        let elements = DataMovement.elements(input)
        let leading = outputShape.count - input.rank
        var output: [[UInt8]] = []
        for linear in 0..<outputShape.reduce(1, *) {
            let coordinates = DataMovement.coordinates(of: linear, in: outputShape)
            let inputCoordinates = input.shape.indices.map { input.shape[$0] == 1 ? 0 : coordinates[$0 + leading] }
            output.append(elements[DataMovement.linear(inputCoordinates, in: input.shape)])
        }
        return try DataMovement.tensor(input.dtype, outputShape, elements: output)
    }

    @Test(arguments: DataMovement.allDTypes)
    func broadcastsInBothDirections(dtype: DType) throws {
        let cases: [([Int], [Int], [Int])] = [
            ([3, 1], [2, 3, 4], [2, 3, 4]), ([1], [5], [5]), ([3, 4], [1, 1], [3, 4]), ([3, 1, 5], [4, 1], [3, 4, 5]),
            ([1, 17], [33, 1], [33, 17]), ([], [2, 2], [2, 2]), ([2, 1], [2, 0], [2, 0]), ([1, 9], [8, 9], [8, 9]),
        ]
        let op = try DataMovement.op(Expand.self, inputs: 2)
        for (inputShape, requested, expectedShape) in cases {
            let input = try DataMovement.tensor(dtype, inputShape)
            let output = try DataMovement.run(op, [input, try DataMovement.int64s(requested)])[0]
            #expect(output.shape == expectedShape)
            #expect(DataMovement.bytes(output) == DataMovement.bytes(try Self.naiveExpand(input, to: expectedShape)), "\(inputShape) -> \(requested)")
        }
    }

    @Test func rejectsIncompatibleAndNegativeShapes() throws {
        let op = try DataMovement.op(Expand.self, inputs: 2)
        let input = try DataMovement.iota([3])
        let context = ExecutionContext(threads: 1)
        #expect(DataMovement.operatorError { _ = try op.run([input, try DataMovement.int64s([4])], context: context) }?.contains("do not broadcast") == true)
        #expect(DataMovement.operatorError { _ = try op.run([input, try DataMovement.int64s([-1, 3])], context: context) }?.contains("shape value -1 at position 0") == true)
    }

    @Test func infersSymbolicBroadcasts() throws {
        let op = try DataMovement.op(Expand.self, inputs: 2)
        let types = try DataMovement.infer(op, [InferenceInput(type: TensorType(.float32, ["batch", 1, 4])),
                                                InferenceInput(type: TensorType(.int64, [3]), symbolicValue: [1, "seq", 1])])
        #expect(types == [TensorType(.float32, ["batch", "seq", 4])])
    }
}

@Suite struct ConstantTests {
    @Test func producesEachAttributeForm() throws {
        let tensor = try DataMovement.tensor(.float16, [2, 3])
        let cases: [(String, Attribute, TensorType)] = [
            ("value", .tensor(tensor), TensorType(.float16, [2, 3])),
            ("value_float", .float(1.5), TensorType(.float32, [])),
            ("value_floats", .floats([1, 2]), TensorType(.float32, [2])),
            ("value_int", .int(-3), TensorType(.int64, [])),
            ("value_ints", .ints([4, 5, 6]), TensorType(.int64, [3])),
        ]
        for (name, attribute, type) in cases {
            let op = try DataMovement.op(Constant.self, inputs: 0, attributes: [name: attribute])
            #expect(try DataMovement.infer(op, []) == [type])
            let output = try DataMovement.run(op, [])[0]
            #expect(output.dtype == type.dtype && [Dim](output.shape) == type.shape)
            #expect(op.staticOutputs([])?.count == 1)
        }
        let ints = try DataMovement.op(Constant.self, inputs: 0, attributes: ["value_ints": .ints([4, 5, 6])])
        #expect(try DataMovement.run(ints, [])[0].scalars(as: Int64.self) == [4, 5, 6])
        let float = try DataMovement.op(Constant.self, inputs: 0, attributes: ["value_float": .float(1.5)])
        #expect(try DataMovement.run(float, [])[0].scalars(as: Float.self) == [1.5])
    }

    @Test func needsExactlyOneSupportedValue() throws {
        #expect(DataMovement.operatorError { _ = try DataMovement.op(Constant.self, inputs: 0) }?.contains("exactly one") == true)
        #expect(DataMovement.operatorError {
            _ = try DataMovement.op(Constant.self, inputs: 0, attributes: ["value_int": .int(1), "value_float": .float(1)])
        }?.contains("exactly one") == true)
        #expect(DataMovement.operatorError {
            _ = try DataMovement.op(Constant.self, inputs: 0, attributes: ["value_strings": .strings(["a"])])
        }?.contains("not supported") == true)
        #expect(DataMovement.operatorError {
            _ = try DataMovement.op(Constant.self, inputs: 0, attributes: ["value_int": .float(1)])
        }?.contains("must be an int") == true)
    }
}
