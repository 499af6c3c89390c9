import Kiln
import KilnTestSupport
import Testing

@Suite struct MatMulTests {
    typealias T = NeuralNetworkTesting

    /// numpy matmul by definition, in Double: promotes 1-D operands, broadcasts batch dims.
    static func referenceMatMul(_ a: Tensor, _ b: Tensor) -> Tensor {
        let left = a.rank == 1 ? [1] + a.shape : a.shape
        let right = b.rank == 1 ? b.shape + [1] : b.shape
        let m = left[left.count - 2], k = left[left.count - 1], n = right[right.count - 1]
        let leftBatch = Array(left.dropLast(2)), rightBatch = Array(right.dropLast(2))
        let rank = max(leftBatch.count, rightBatch.count)
        let paddedLeft = Array(repeating: 1, count: rank - leftBatch.count) + leftBatch
        let paddedRight = Array(repeating: 1, count: rank - rightBatch.count) + rightBatch
        let batch = zip(paddedLeft, paddedRight).map { $0 == 1 ? $1 : $0 }
        let x = try! a.scalars(as: Float.self), w = try! b.scalars(as: Float.self)
        var result: [Float] = []
        let batchCount = batch.reduce(1, *)
        for entry in 0..<batchCount {
            var remainder = entry, leftIndex = 0, rightIndex = 0, leftStride = 1, rightStride = 1
            for axis in stride(from: rank - 1, through: 0, by: -1) {
                let coordinate = remainder % batch[axis]
                remainder /= batch[axis]
                leftIndex += (paddedLeft[axis] == 1 ? 0 : coordinate) * leftStride
                rightIndex += (paddedRight[axis] == 1 ? 0 : coordinate) * rightStride
                leftStride *= paddedLeft[axis]
                rightStride *= paddedRight[axis]
            }
            for row in 0..<m {
                for column in 0..<n {
                    var total = 0.0
                    for inner in 0..<k {
                        total += Double(x[leftIndex * m * k + row * k + inner]) * Double(w[rightIndex * k * n + inner * n + column])
                    }
                    result.append(Float(total))
                }
            }
        }
        var shape = batch
        if a.rank > 1 { shape.append(m) }
        if b.rank > 1 { shape.append(n) }
        return T.tensor(shape, result)
    }

    static let sizes = [0, 1, 7, 8, 9, 16, 17, 33]

    @Test(arguments: sizes)
    func matchesReferenceForMatrixShapes(m: Int) throws {
        for k in Self.sizes {
            for n in [0, 1, 9, 15, 32, 33] {
                let a = T.random([m, k], seed: 1), b = T.random([k, n], seed: 2)
                let y = try T.run(MatMul.self, [a, b])[0]
                T.expectClose(y, Self.referenceMatMul(a, b), atol: 1e-5, "m=\(m) k=\(k) n=\(n)")
            }
        }
    }

    @Test(arguments: [
        ([7], [7, 5]), ([4, 7], [7]), ([9], [9]), ([3, 4, 7], [7]), ([7], [2, 7, 3]),
        ([2, 3, 4], [4, 5]), ([3, 4], [2, 4, 5]), ([2, 3, 4], [2, 4, 5]), ([2, 1, 3, 4], [5, 4, 6]),
        ([1, 3, 4], [2, 1, 4, 2]), ([2, 0, 3], [3, 4]), ([0, 3, 4], [4, 5]), ([2, 3, 0], [2, 0, 4]),
        ([5, 1, 17, 16], [1, 3, 16, 9]),
    ])
    func promotesVectorsAndBroadcastsBatchDims(shapes: ([Int], [Int])) throws {
        let a = T.random(shapes.0, seed: 3), b = T.random(shapes.1, seed: 4)
        let y = try T.run(MatMul.self, [a, b])[0]
        T.expectClose(y, Self.referenceMatMul(a, b), atol: 1e-5, "\(shapes)")
    }

    @Test func computesTheSpecExampleByHand() throws {
        let a = T.tensor([2, 3], [1, 2, 3, 4, 5, 6])
        let b = T.tensor([3, 2], [7, 8, 9, 10, 11, 12])
        let y = try T.run(MatMul.self, [a, b])[0]
        #expect(try y.scalars(as: Float.self) == [58, 64, 139, 154])
        let dot = try T.run(MatMul.self, [T.tensor([3], [1, 2, 3]), T.tensor([3], [4, 5, 6])])[0]
        #expect(dot.shape == [])
        #expect(try dot.scalars(as: Float.self) == [32])
    }

    @Test func infersSymbolicShapes() throws {
        let types = try T.infer(MatMul.self, [TensorType(.float32, ["batch", "seq", 384]), TensorType(.float32, [384, 1536])])
        #expect(types[0] == TensorType(.float32, ["batch", "seq", 1536]))
        let attention = try T.infer(MatMul.self, [TensorType(.float32, ["batch", 12, "seq", 64]),
                                                  TensorType(.float32, ["batch", 12, 64, "seq"])])
        #expect(attention[0] == TensorType(.float32, ["batch", 12, "seq", "seq"]))
        let vector = try T.infer(MatMul.self, [TensorType(.float32, [384]), TensorType(.float32, [384, "n"])])
        #expect(vector[0] == TensorType(.float32, ["n"]))
    }

    @Test func rejectsMismatchedInnerDims() throws {
        #expect(throws: OperatorError.self) {
            try T.infer(MatMul.self, [TensorType(.float32, [2, 3]), TensorType(.float32, [4, 5])])
        }
        #expect(throws: OperatorError.self) {
            try T.run(MatMul.self, [T.random([2, 3], seed: 1), T.random([4, 5], seed: 2)])
        }
        #expect(throws: OperatorError.self) {
            try T.run(MatMul.self, [T.random([2, 2, 3], seed: 1), T.random([3, 3, 5], seed: 2)])
        }
        #expect(throws: OperatorError.self) {
            try T.run(MatMul.self, [Tensor(scalar: Float(1)), T.random([1, 5], seed: 2)])
        }
    }

    @Test func runsInASessionWithSymbolicBatch() throws {
        var builder = GraphBuilder(name: "dense")
        let x = builder.input("x", .float32, ["batch", 17])
        let weights = T.random([17, 9], seed: 5)
        let y = builder.node("MatMul", [x, builder.constant(weights)])
        builder.output(builder.node("Relu", [y]), as: "y")
        let graph = try builder.build()
        #expect(graph.outputs[0].type == TensorType(.float32, ["batch", 9]))
        let session = try InferenceSession(model: Model(graph: graph), options: .init(threads: 2))
        let input = T.random([5, 17], seed: 6)
        let output = try #require(try session.run(["x": input])["y"])
        let expected = Self.referenceMatMul(input, weights)
        let relu = T.tensor(expected.shape, try expected.scalars(as: Float.self).map { max($0, 0) })
        T.expectClose(output, relu)
    }
}
