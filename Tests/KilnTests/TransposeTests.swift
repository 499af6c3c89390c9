import Kiln
import Testing

@Suite struct TransposeTests {
    /// Output element at coordinates `c` is input element at `c` placed by `perm`: written from the
    /// definition, one element at a time.
    static func naiveTranspose(_ input: Tensor, _ perm: [Int]) throws -> Tensor {
        let outputShape = perm.map { input.shape[$0] }
        let elements = DataMovement.elements(input)
        var output: [[UInt8]] = []
        for linear in 0..<outputShape.reduce(1, *) {
            let outputCoordinates = DataMovement.coordinates(of: linear, in: outputShape)
            var inputCoordinates = [Int](repeating: 0, count: input.rank)
            for (outputAxis, inputAxis) in perm.enumerated() { inputCoordinates[inputAxis] = outputCoordinates[outputAxis] }
            output.append(elements[DataMovement.linear(inputCoordinates, in: input.shape)])
        }
        return try DataMovement.tensor(input.dtype, outputShape, elements: output)
    }

    static func permutations(_ rank: Int) -> [[Int]] {
        guard rank > 0 else { return [[]] }
        return permutations(rank - 1).flatMap { shorter in
            (0...shorter.count).map { position in
                var longer = shorter
                longer.insert(rank - 1, at: position)
                return longer
            }
        }
    }

    @Test(arguments: DataMovement.allDTypes)
    func matchesNaiveTransposeForEveryPermutation(dtype: DType) throws {
        let shapes = [[5], [2, 3], [2, 3, 4], [1, 7, 9], [0, 3, 2], [3, 1, 17], [2, 3, 4, 5], [1, 2, 1, 3], [2, 9, 1, 8]]
        for shape in shapes {
            let input = try DataMovement.tensor(dtype, shape, seed: UInt64(shape.reduce(0, +)))
            for perm in Self.permutations(shape.count) {
                let op = try DataMovement.op(Transpose.self, inputs: 1, attributes: ["perm": .ints(perm)])
                let output = try DataMovement.run(op, [input])[0]
                let expected = try Self.naiveTranspose(input, perm)
                #expect(output.shape == expected.shape)
                #expect(DataMovement.bytes(output) == DataMovement.bytes(expected), "\(dtype) \(shape) perm \(perm)")
            }
        }
    }

    @Test func twoDimensionalTransposeAtSimdEdgeSizes() throws {
        for rows in DataMovement.edgeSizes {
            for columns in DataMovement.edgeSizes {
                for dtype in [DType.float32, .float16, .int64, .uint8] {
                    let input = try DataMovement.tensor(dtype, [rows, columns], seed: UInt64(rows * 100 + columns))
                    let output = try DataMovement.run(DataMovement.op(Transpose.self, inputs: 1), [input])[0]
                    #expect(output.shape == [columns, rows])
                    #expect(DataMovement.bytes(output) == DataMovement.bytes(try Self.naiveTranspose(input, [1, 0])))
                }
            }
        }
    }

    @Test func largeTransposesMatchInParallel() throws {
        // Big enough that two threads split the work: NCHW <-> NHWC and the attention [0, 2, 1, 3].
        let input = try DataMovement.tensor(.float32, [2, 33, 31, 17])
        for perm in [[0, 2, 3, 1], [0, 3, 1, 2], [0, 2, 1, 3], [3, 2, 1, 0]] {
            let op = try DataMovement.op(Transpose.self, inputs: 1, attributes: ["perm": .ints(perm)])
            let output = try DataMovement.run(op, [input])[0]
            #expect(DataMovement.bytes(output) == DataMovement.bytes(try Self.naiveTranspose(input, perm)), "perm \(perm)")
        }
    }

    @Test func defaultPermutationReversesAxes() throws {
        let input = try DataMovement.iota([2, 3, 4])
        let output = try DataMovement.run(DataMovement.op(Transpose.self, inputs: 1), [input])[0]
        #expect(output.shape == [4, 3, 2])
        // output[k][j][i] = input[i][j][k] = 12i + 4j + k; output[1][2][1] = 12 + 8 + 1.
        #expect(try output.scalars(as: Float.self)[1 * 6 + 2 * 2 + 1] == 21)
    }

    @Test func movingOnlySizeOneAxesSharesTheInputBytes() throws {
        let input = try DataMovement.iota([1, 5, 1, 3])
        let op = try DataMovement.op(Transpose.self, inputs: 1, attributes: ["perm": .ints([2, 1, 0, 3])])
        let output = try DataMovement.run(op, [input])[0]
        #expect(output.shape == [1, 5, 1, 3])
        #expect(output.storage === input.storage)
    }

    @Test func rejectsInvalidPermutations() throws {
        #expect(DataMovement.operatorError { _ = try DataMovement.op(Transpose.self, inputs: 1, attributes: ["perm": .ints([0, 0, 1])]) }?
            .contains("0 repeats") == true)
        #expect(DataMovement.operatorError { _ = try DataMovement.op(Transpose.self, inputs: 1, attributes: ["perm": .ints([0, 3, 1])]) }?
            .contains("3 is out of range") == true)
        #expect(DataMovement.operatorError { _ = try DataMovement.op(Transpose.self, inputs: 1, attributes: ["perm": .ints([-1, 0])]) } != nil)
        let op = try DataMovement.op(Transpose.self, inputs: 1, attributes: ["perm": .ints([1, 0])])
        let message = DataMovement.operatorError { _ = try op.run([try DataMovement.iota([2, 3, 4])], context: ExecutionContext(threads: 1)) }
        #expect(message?.contains("rank 3") == true)
        #expect(DataMovement.operatorError { _ = try DataMovement.infer(op, [InferenceInput(type: TensorType(.float32, [2, 3, 4]))]) } != nil)
    }

    @Test func infersPermutedSymbolicShapes() throws {
        let op = try DataMovement.op(Transpose.self, inputs: 1, attributes: ["perm": .ints([0, 2, 1, 3])])
        let types = try DataMovement.infer(op, [InferenceInput(type: TensorType(.float16, ["batch", "seq", 12, 32]))])
        #expect(types == [TensorType(.float16, ["batch", 12, "seq", 32])])
        let unknownRank = try DataMovement.infer(op, [InferenceInput(type: TensorType(.float32, nil))])
        #expect(unknownRank[0].rank == 4)
        let reversed = try DataMovement.infer(DataMovement.op(Transpose.self, inputs: 1),
                                              [InferenceInput(type: TensorType(.int8, ["n", 3]))])
        #expect(reversed == [TensorType(.int8, [3, "n"])])
    }
}
