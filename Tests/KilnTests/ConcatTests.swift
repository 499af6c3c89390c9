import Kiln
import Testing

@Suite struct ConcatTests {
    /// Output coordinates walk through the inputs in order along `axis`: written from the definition.
    static func naiveConcat(_ inputs: [Tensor], axis: Int) throws -> Tensor {
        var outputShape = inputs[0].shape
        outputShape[axis] = inputs.reduce(0) { $0 + $1.shape[axis] }
        let elements = inputs.map(DataMovement.elements)
        var output: [[UInt8]] = []
        for linear in 0..<outputShape.reduce(1, *) {
            var coordinates = DataMovement.coordinates(of: linear, in: outputShape)
            var which = 0
            while coordinates[axis] >= inputs[which].shape[axis] {
                coordinates[axis] -= inputs[which].shape[axis]
                which += 1
            }
            output.append(elements[which][DataMovement.linear(coordinates, in: inputs[which].shape)])
        }
        return try DataMovement.tensor(inputs[0].dtype, outputShape, elements: output)
    }

    @Test(arguments: DataMovement.allDTypes)
    func matchesNaiveConcatAlongEveryAxis(dtype: DType) throws {
        let base = [3, 5, 7]
        for axis in 0..<3 {
            for sizes in [[1], [2, 3], [0, 4, 1], [8, 9, 0, 17], [16, 15]] {
                let inputs = try sizes.enumerated().map { index, size -> Tensor in
                    var shape = base
                    shape[axis] = size
                    return try DataMovement.tensor(dtype, shape, seed: UInt64(index + 10 * axis))
                }
                for axisAttribute in [axis, axis - 3] {
                    let op = try DataMovement.op(Concat.self, inputs: inputs.count, attributes: ["axis": .int(axisAttribute)])
                    let output = try DataMovement.run(op, inputs)[0]
                    let expected = try Self.naiveConcat(inputs, axis: axis)
                    #expect(output.shape == expected.shape)
                    #expect(DataMovement.bytes(output) == DataMovement.bytes(expected), "\(dtype) axis \(axisAttribute) sizes \(sizes)")
                }
            }
        }
    }

    @Test func concatenatesSmallVectorsByHand() throws {
        let op = try DataMovement.op(Concat.self, inputs: 3, attributes: ["axis": .int(0)])
        let output = try DataMovement.run(op, [try DataMovement.int64s([1, 2]), try DataMovement.int64s([]), try DataMovement.int64s([3])])[0]
        #expect(try output.scalars(as: Int64.self) == [1, 2, 3])
    }

    @Test func rejectsMismatchedInputs() throws {
        let op = try DataMovement.op(Concat.self, inputs: 2, attributes: ["axis": .int(1)])
        let context = ExecutionContext(threads: 1)
        let a = try DataMovement.iota([2, 3])
        #expect(DataMovement.operatorError { _ = try op.run([a, try DataMovement.iota([3, 3])], context: context) }?.contains("axis 0 differs") == true)
        #expect(DataMovement.operatorError { _ = try op.run([a, try DataMovement.iota([2, 3, 1])], context: context) }?.contains("ranks differ") == true)
        #expect(DataMovement.operatorError { _ = try op.run([a, try DataMovement.tensor(.int32, [2, 3])], context: context) }?.contains("dtype") == true)
        let far = try DataMovement.op(Concat.self, inputs: 2, attributes: ["axis": .int(2)])
        #expect(DataMovement.operatorError { _ = try far.run([a, a], context: context) }?.contains("axis 2 is out of range") == true)
        #expect(DataMovement.operatorError { _ = try DataMovement.op(Concat.self, inputs: 2) }?.contains("'axis' is required") == true)
    }

    @Test func infersSumsAndSymbols() throws {
        let op = try DataMovement.op(Concat.self, inputs: 2, attributes: ["axis": .int(-1)])
        func infer(_ a: [Dim], _ b: [Dim]) throws -> TensorType {
            try DataMovement.infer(op, [InferenceInput(type: TensorType(.float32, a)), InferenceInput(type: TensorType(.float32, b))])[0]
        }
        #expect(try infer(["batch", 3], ["batch", 5]) == TensorType(.float32, ["batch", 8]))
        #expect(try infer(["batch", 3], [2, 5]) == TensorType(.float32, [2, 8]))
        #expect(try infer(["batch", "n"], ["batch", 0]) == TensorType(.float32, ["batch", "n"]))
        #expect(try infer(["batch", "n"], ["batch", 1]).shape?[1].isFresh == true)
        #expect(DataMovement.operatorError { _ = try infer([2, 3], [4, 3]) }?.contains("disagree") == true)
    }
}
