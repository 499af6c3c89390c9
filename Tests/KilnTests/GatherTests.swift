import Kiln
import Testing

@Suite struct GatherTests {
    /// output[outer..., index coordinates..., inner...] = data[outer..., wrapped index, inner...].
    static func naiveGather(_ data: Tensor, _ indices: [Int], indexShape: [Int], axis: Int) throws -> Tensor {
        let outputShape = Array(data.shape[..<axis]) + indexShape + data.shape[(axis + 1)...]
        let elements = DataMovement.elements(data)
        var output: [[UInt8]] = []
        for linear in 0..<outputShape.reduce(1, *) {
            let coordinates = DataMovement.coordinates(of: linear, in: outputShape)
            let indexCoordinates = Array(coordinates[axis..<(axis + indexShape.count)])
            var index = indices[DataMovement.linear(indexCoordinates, in: indexShape)]
            if index < 0 { index += data.shape[axis] }
            let dataCoordinates = Array(coordinates[..<axis]) + [index] + coordinates[(axis + indexShape.count)...]
            output.append(elements[DataMovement.linear(dataCoordinates, in: data.shape)])
        }
        return try DataMovement.tensor(data.dtype, outputShape, elements: output)
    }

    @Test(arguments: DataMovement.allDTypes)
    func matchesNaiveGather(dtype: DType) throws {
        for inner in DataMovement.edgeSizes {
            let data = try DataMovement.tensor(dtype, [3, 5, inner], seed: UInt64(inner))
            for axis in 0..<3 where data.shape[axis] > 0 {
                let size = data.shape[axis]
                let picks = [0, size - 1, -1, -size, size / 2, 0]
                for indexShape in [[6], [2, 3], [0]] {
                    let values = Array(picks.prefix(indexShape.reduce(1, *)))
                    for indexType in [DType.int64, .int32] {
                        let indices = indexType == .int64 ? try DataMovement.int64s(values, shape: indexShape)
                                                          : try DataMovement.int32s(values, shape: indexShape)
                        for axisAttribute in [axis, axis - 3] {
                            let op = try DataMovement.op(Gather.self, inputs: 2, attributes: ["axis": .int(axisAttribute)])
                            let output = try DataMovement.run(op, [data, indices])[0]
                            let expected = try Self.naiveGather(data, values, indexShape: indexShape, axis: axis)
                            #expect(output.shape == expected.shape)
                            #expect(DataMovement.bytes(output) == DataMovement.bytes(expected), "\(dtype) inner \(inner) axis \(axisAttribute)")
                        }
                    }
                }
            }
        }
    }

    @Test func fastKernelMatchesReferenceOnLargeInputs() throws {
        let data = try DataMovement.tensor(.float32, [7, 300, 33])
        let values = (0..<257).map { ($0 * 37) % 600 - 300 }
        let indices = try DataMovement.int64s(values)
        let extent = GatherKernels.GatherExtent(outer: 7, axisSize: 300, inner: 33, indexCount: 257)
        let fast = try Tensor.uninitialized(.float32, shape: [7, 257, 33])
        let reference = try Tensor.uninitialized(.float32, shape: [7, 257, 33])
        GatherKernels.gather(data: data, indices: indices, extent: extent, into: fast, context: ExecutionContext(threads: 2))
        GatherKernels.gatherReference(data: data, indices: indices, extent: extent, into: reference)
        #expect(DataMovement.bytes(fast) == DataMovement.bytes(reference))
    }

    @Test func scalarIndicesDropTheAxis() throws {
        let data = try DataMovement.iota([3, 4])
        let op = try DataMovement.op(Gather.self, inputs: 2, attributes: ["axis": .int(1)])
        let output = try DataMovement.run(op, [data, Tensor(scalar: Int64(-1))])[0]
        #expect(output.shape == [3])
        #expect(try output.scalars(as: Float.self) == [3, 7, 11])
        let row = try DataMovement.run(DataMovement.op(Gather.self, inputs: 2), [data, Tensor(scalar: Int32(1))])[0]
        #expect(try row.scalars(as: Float.self) == [4, 5, 6, 7])
    }

    @Test func rejectsOutOfRangeIndicesAndBadAxes() throws {
        let data = try DataMovement.iota([3, 4])
        let op = try DataMovement.op(Gather.self, inputs: 2)
        let context = ExecutionContext(threads: 1)
        #expect(DataMovement.operatorError { _ = try op.run([data, try DataMovement.int64s([0, 3])], context: context) }
            == "index 3 is out of range for axis 0 of size 3")
        #expect(DataMovement.operatorError { _ = try op.run([data, try DataMovement.int32s([-4])], context: context) }
            == "index -4 is out of range for axis 0 of size 3")
        #expect(DataMovement.operatorError { _ = try op.run([try DataMovement.iota([0, 2]), try DataMovement.int64s([0])], context: context) }?
            .contains("out of range") == true)
        #expect(DataMovement.operatorError {
            _ = try op.run([data, try Tensor(shape: [1], scalars: [0] as [Float])], context: context)
        }?.contains("int64 or int32") == true)
        let far = try DataMovement.op(Gather.self, inputs: 2, attributes: ["axis": .int(-3)])
        #expect(DataMovement.operatorError { _ = try far.run([data, try DataMovement.int64s([0])], context: context) }?.contains("axis -3") == true)
    }

    @Test func infersShapesAndChecksConstantIndices() throws {
        let op = try DataMovement.op(Gather.self, inputs: 2, attributes: ["axis": .int(1)])
        let data = InferenceInput(type: TensorType(.float32, ["batch", 10, "hidden"]))
        let types = try DataMovement.infer(op, [data, InferenceInput(type: TensorType(.int64, ["seq", 2]))])
        #expect(types == [TensorType(.float32, ["batch", "seq", 2, "hidden"])])
        #expect(DataMovement.operatorError {
            _ = try DataMovement.infer(op, [data, DataMovement.constant(try DataMovement.int64s([10]))])
        } == "index 10 is out of range for axis 1 of size 10")
    }
}
