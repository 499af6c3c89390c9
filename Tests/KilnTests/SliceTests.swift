import Kiln
import Testing

@Suite struct SliceTests {
    private let context = ExecutionContext(threads: 1)

    /// The fixture's expected positions applied to any input: output element i is input element output[i].
    private func expected(_ input: Tensor, _ fixture: SliceCase) throws -> Tensor {
        let elements = DataMovement.elements(input)
        return try DataMovement.tensor(input.dtype, fixture.outputShape, elements: fixture.output.map { elements[$0] })
    }

    @Test func matchesNumpyWithInt64Parameters() throws {
        for (index, fixture) in ShapeOperatorFixtures.slice.enumerated() {
            let dtype = DataMovement.allDTypes[index % DataMovement.allDTypes.count]
            let input = try DataMovement.tensor(dtype, fixture.shape, seed: UInt64(index))
            var inputs: [Tensor?] = [input, try DataMovement.int64s(fixture.starts), try DataMovement.int64s(fixture.ends)]
            inputs.append(try fixture.axes.map { try DataMovement.int64s($0) })
            inputs.append(try fixture.steps.map { try DataMovement.int64s($0) })
            let op = try DataMovement.op(SliceOperator.self, inputs: 5)
            let output = try DataMovement.run(op, inputs)[0]
            #expect(output.shape == fixture.outputShape, "case \(index)")
            #expect(DataMovement.bytes(output) == DataMovement.bytes(try expected(input, fixture)), "case \(index) \(dtype)")
        }
    }

    @Test func matchesNumpyWithInt32ParametersAndOmittedInputs() throws {
        func narrow(_ values: [Int]) -> [Int] {
            values.map { $0 == Int.max ? Int(Int32.max) : $0 == Int.min ? Int(Int32.min) : $0 }
        }
        for (index, fixture) in ShapeOperatorFixtures.slice.enumerated() {
            let input = try DataMovement.iota(fixture.shape)
            var names = 3
            var inputs: [Tensor?] = [input, try DataMovement.int32s(narrow(fixture.starts)), try DataMovement.int32s(narrow(fixture.ends))]
            if fixture.axes != nil || fixture.steps != nil {
                inputs.append(try fixture.axes.map { try DataMovement.int32s($0) })
                names = 4
            }
            if let steps = fixture.steps {
                inputs.append(try DataMovement.int32s(steps))
                names = 5
            }
            let output = try DataMovement.run(try DataMovement.op(SliceOperator.self, inputs: names), inputs)[0]
            #expect(try output.scalars(as: Float.self) == fixture.output.map(Float.init), "case \(index)")
        }
    }

    @Test func acceptsTheOpset9AttributeForm() throws {
        let op = try DataMovement.op(SliceOperator.self, inputs: 1,
                                     attributes: ["starts": .ints([1, -2]), "ends": .ints([Int.max, -1]), "axes": .ints([0, 1])], opset: 9)
        let output = try DataMovement.run(op, [try DataMovement.iota([3, 4])])[0]
        #expect(output.shape == [2, 1])
        #expect(try output.scalars(as: Float.self) == [6, 10])
    }

    @Test func wholeTensorSliceSharesBytes() throws {
        let input = try DataMovement.iota([3, 4])
        let op = try DataMovement.op(SliceOperator.self, inputs: 3)
        let output = try op.run([input, try DataMovement.int64s([0]), try DataMovement.int64s([Int.max])], context: context)[0]
        #expect(output.storage === input.storage)
    }

    @Test func rejectsBadParametersNamingThem() throws {
        let input = try DataMovement.iota([3, 4])
        let op = try DataMovement.op(SliceOperator.self, inputs: 5)
        func message(_ starts: [Int], _ ends: [Int], axes: [Int]? = nil, steps: [Int]? = nil) -> String? {
            DataMovement.operatorError {
                _ = try op.run([input, try DataMovement.int64s(starts), try DataMovement.int64s(ends),
                                try axes.map { try DataMovement.int64s($0) }, try steps.map { try DataMovement.int64s($0) }],
                               context: context)
            }
        }
        #expect(message([0], [1], steps: [0])?.contains("steps value 0 at position 0") == true)
        #expect(message([0, 0], [1, 1], axes: [1, -1])?.contains("repeats axis") == true)
        #expect(message([0], [1], axes: [2])?.contains("axes value 2 is out of range") == true)
        #expect(message([0], [1, 2])?.contains("ends has 2") == true)
        #expect(message([0, 0], [1, 1], axes: [0])?.contains("axes has 1") == true)
        #expect(message([0, 0, 0], [1, 1, 1])?.contains("rank 2") == true)
        #expect(DataMovement.operatorError {
            _ = try op.run([input, try DataMovement.int32s([0]), try DataMovement.int64s([1]), nil, nil], context: context)
        }?.contains("starts is int32 but ends is int64") == true)
        #expect(DataMovement.operatorError {
            _ = try op.run([input, try Tensor(shape: [1], scalars: [0] as [Float]), try DataMovement.int64s([1]), nil, nil], context: context)
        }?.contains("int64 or int32") == true)
    }

    @Test func infersFixedAndSymbolicDims() throws {
        let op = try DataMovement.op(SliceOperator.self, inputs: 5)
        let data = InferenceInput(type: TensorType(.float32, ["batch", "seq", 10]))
        func infer(_ starts: [Int], _ ends: [Int], axes: [Int]?, steps: [Int]? = nil) throws -> TensorType {
            try DataMovement.infer(op, [data, DataMovement.constant(try DataMovement.int64s(starts)),
                                        DataMovement.constant(try DataMovement.int64s(ends)),
                                        try axes.map { DataMovement.constant(try DataMovement.int64s($0)) } ?? .absent,
                                        try steps.map { DataMovement.constant(try DataMovement.int64s($0)) } ?? .absent])[0]
        }
        #expect(try infer([2], [-1], axes: [2]) == TensorType(.float32, ["batch", "seq", 7]))
        #expect(try infer([9], [Int.min], axes: [-1], steps: [-4]) == TensorType(.float32, ["batch", "seq", 3]))
        #expect(try infer([0], [Int.max], axes: [1]) == TensorType(.float32, ["batch", "seq", 10]))
        let partial = try infer([1], [Int.max], axes: [1])
        #expect(partial.shape?[1].isFresh == true && partial.shape?[0] == "batch")
        // Starts not constant: the sliced axes get fresh dims, the others stay.
        let dynamic = try DataMovement.infer(op, [data, InferenceInput(type: TensorType(.int64, [1])),
                                                  InferenceInput(type: TensorType(.int64, [1])),
                                                  DataMovement.constant(try DataMovement.int64s([2])), .absent])[0]
        #expect(dynamic.shape?[0] == "batch" && dynamic.shape?[1] == "seq" && dynamic.shape?[2].isFresh == true)
    }
}
