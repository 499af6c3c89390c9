import Kiln
import KilnTestSupport
import Testing

@Suite struct ReductionTests {
    typealias T = NeuralNetworkTesting

    static let kinds: [(any Operator.Type, ReductionKind)] = [
        (ReduceSum.self, .sum), (ReduceMean.self, .mean), (ReduceMax.self, .maximum), (ReduceMin.self, .minimum),
        (ReduceProd.self, .product), (ReduceL1.self, .sumOfMagnitudes), (ReduceL2.self, .euclideanNorm),
        (ReduceSumSquare.self, .sumOfSquares), (ReduceLogSum.self, .logSum), (ReduceLogSumExp.self, .logSumExp),
    ]

    /// Runs a reduction with `axes` as an input (constant, so inference sees it).
    static func run(_ type: any Operator.Type, _ x: Tensor, axes: [Int]?, keepDims: Bool = true,
                    noop: Bool = false, opset: Int = 18) throws -> Tensor {
        var attributes: [String: Attribute] = ["keepdims": .int(keepDims ? 1 : 0)]
        if noop { attributes["noop_with_empty_axes"] = .int(1) }
        let axesTensor = try axes.map { try Tensor(shape: [$0.count], scalars: $0.map(Int64.init)) }
        func go<Op: Operator>(_ op: Op.Type) throws -> Tensor {
            try T.run(op, [x] + (axesTensor.map { [$0] } ?? []), attributes: attributes, opset: opset, constantInputs: [1])[0]
        }
        return try go(type)
    }

    static func expected(_ x: Tensor, axes: Set<Int>, kind: ReductionKind, keepDims: Bool) -> Tensor {
        let values = ReductionKernels.reference(try! x.scalars(as: Float.self), shape: x.shape, axes: axes, kind: kind)
        let shape = x.shape.enumerated().compactMap { axes.contains($0.offset) ? (keepDims ? 1 : nil) : $0.element }
        return T.tensor(shape, values)
    }

    static let layouts: [([Int], [Int])] = [
        ([7], [0]), ([33], [-1]), ([4, 9], [1]), ([4, 17], [0]), ([2, 3, 16], [1]), ([3, 5, 8], [0, 2]),
        ([2, 3, 4, 5], [1, 3]), ([2, 3, 4, 5], [0, 1, 2, 3]), ([2, 1, 31, 3], [1, 2]), ([5, 32], [0, 1]),
        ([3, 4, 600], [1]), ([2, 15, 1, 9], [2]), ([6, 1, 6], [-3, -1]),
    ]

    @Test(arguments: layouts.indices)
    func everyReductionMatchesReference(index: Int) throws {
        let (shape, axes) = Self.layouts[index]
        // Positive data keeps ReduceLogSum defined; ReduceProd stays near 1.
        let x = T.random(shape, seed: UInt64(index), in: 0.5...1.5)
        let resolved = Set(axes.map { $0 < 0 ? $0 + shape.count : $0 })
        for (type, kind) in Self.kinds {
            for keepDims in [true, false] {
                let y = try Self.run(type, x, axes: axes, keepDims: keepDims)
                T.expectClose(y, Self.expected(x, axes: resolved, kind: kind, keepDims: keepDims), rtol: 1e-5, atol: 1e-5,
                              "\(type) shape \(shape) axes \(axes) keepdims \(keepDims)")
            }
        }
        let signed = T.random(shape, seed: UInt64(index) + 100, in: -3...3)
        for (type, kind) in Self.kinds where kind != .logSum && kind != .product {
            T.expectClose(try Self.run(type, signed, axes: axes), Self.expected(signed, axes: resolved, kind: kind, keepDims: true),
                          rtol: 1e-5, atol: 1e-5, "\(type) signed shape \(shape) axes \(axes)")
        }
    }

    @Test func missingAxesReduceEverythingUnlessNoop() throws {
        let x = T.random([3, 4], seed: 1)
        let all = try Self.run(ReduceSum.self, x, axes: nil)
        #expect(all.shape == [1, 1])
        T.expectClose(all, Self.expected(x, axes: [0, 1], kind: .sum, keepDims: true))
        #expect(try Self.run(ReduceMean.self, x, axes: [], keepDims: false).shape == [])
        // noop_with_empty_axes: each element reduced on its own.
        T.expectClose(try Self.run(ReduceSum.self, x, axes: [], noop: true), x, rtol: 0, atol: 0)
        let squares = try Self.run(ReduceSumSquare.self, x, axes: nil, noop: true)
        T.expectClose(squares, T.tensor([3, 4], try x.scalars(as: Float.self).map { $0 * $0 }))
    }

    @Test func olderOpsetsTakeAxesAsAnAttribute() throws {
        let x = T.random([2, 3, 4], seed: 2)
        let sum = try T.run(ReduceSum.self, [x], attributes: ["axes": .ints([1]), "keepdims": .int(0)], opset: 11)[0]
        T.expectClose(sum, Self.expected(x, axes: [1], kind: .sum, keepDims: false))
        let mean = try T.run(ReduceMean.self, [x], attributes: ["axes": .ints([-1, 0])], opset: 13)[0]
        T.expectClose(mean, Self.expected(x, axes: [0, 2], kind: .mean, keepDims: true))
        #expect(throws: OperatorError.self, "axes both ways") {
            try T.run(ReduceSum.self, [x, try Tensor(shape: [1], scalars: [1] as [Int64])], attributes: ["axes": .ints([1])])
        }
    }

    @Test func computesSpecExamples() throws {
        // ONNX ReduceSum keepdims example: [[[1, 2], [3, 4]], [[5, 6], [7, 8]], [[9, 10], [11, 12]]] over axis 1.
        let x = T.tensor([3, 2, 2], (1...12).map(Float.init))
        #expect(try Self.run(ReduceSum.self, x, axes: [1]).scalars(as: Float.self) == [4, 6, 12, 14, 20, 22])
        #expect(try Self.run(ReduceMean.self, x, axes: [1]).scalars(as: Float.self) == [2, 3, 6, 7, 10, 11])
        #expect(try Self.run(ReduceMax.self, x, axes: [1]).scalars(as: Float.self) == [3, 4, 7, 8, 11, 12])
        #expect(try Self.run(ReduceProd.self, x, axes: [1]).scalars(as: Float.self) == [3, 8, 35, 48, 99, 120])
        #expect(try Self.run(ReduceL1.self, T.tensor([2], [-3, 4]), axes: nil).scalars(as: Float.self) == [7])
        #expect(try Self.run(ReduceL2.self, T.tensor([2], [-3, 4]), axes: nil).scalars(as: Float.self) == [5])
        // LogSumExp of large values does not overflow: log(e^1000 + e^1000) = 1000 + log 2.
        let logSumExp = try Self.run(ReduceLogSumExp.self, T.tensor([2], [1000, 1000]), axes: nil)
        T.expectClose(logSumExp, T.tensor([1], [1000.6931]), rtol: 1e-6)
        let strided = try Self.run(ReduceLogSumExp.self, T.tensor([2, 2], [1000, -1000, 1000, -1000]), axes: [0])
        T.expectClose(strided, T.tensor([1, 2], [1000.6931, -999.3069]), rtol: 1e-6)
    }

    @Test func emptyReductionsGiveTheIdentity() throws {
        let x = T.random([3, 0, 2], seed: 3)
        let values: [(any Operator.Type, Float)] = [
            (ReduceSum.self, 0), (ReduceProd.self, 1), (ReduceMax.self, -.infinity), (ReduceMin.self, .infinity),
            (ReduceL2.self, 0), (ReduceLogSumExp.self, -.infinity), (ReduceSumSquare.self, 0),
        ]
        for (type, value) in values {
            let y = try Self.run(type, x, axes: [1])
            #expect(y.shape == [3, 1, 2])
            #expect(try y.scalars(as: Float.self) == Array(repeating: value, count: 6), "\(type)")
        }
        #expect(try Self.run(ReduceMean.self, x, axes: [1]).scalars(as: Float.self).allSatisfy(\.isNaN))
        // Keeping an empty axis gives an empty result.
        #expect(try Self.run(ReduceSum.self, x, axes: [2]).shape == [3, 0, 1])
    }

    @Test func infersShapes() throws {
        let axes = try Tensor(shape: [1], scalars: [1] as [Int64])
        let pooled = try T.infer(ReduceMean.self, [TensorType(.float32, ["batch", "seq", 384]), TensorType(.int64, [1])],
                                 attributes: ["keepdims": .int(0)], constants: [1: axes])
        #expect(pooled[0] == TensorType(.float32, ["batch", 384]))
        let unknownAxes = try T.infer(ReduceSum.self, [TensorType(.float32, ["batch", 1, 8]), TensorType(.int64, [2])],
                                      attributes: ["keepdims": .int(0)])
        #expect(unknownAxes[0].rank == 1)
        let keep = try T.infer(ReduceMax.self, [TensorType(.float32, ["batch", 1, 8]), TensorType(.int64, [2])])
        #expect(keep[0].rank == 3 && keep[0].shape?[1] == 1)
    }

    @Test func rejectsBadAxes() throws {
        let x = T.random([2, 3], seed: 4)
        #expect(throws: OperatorError.self, "out of range") { try Self.run(ReduceSum.self, x, axes: [2]) }
        #expect(throws: OperatorError.self, "repeated") { try Self.run(ReduceSum.self, x, axes: [1, -1]) }
        #expect(throws: OperatorError.self, "not int64") {
            try T.run(ReduceSum.self, [x, T.tensor([1], [1])])
        }
        #expect(throws: OperatorError.self, "int input") {
            try T.run(ReduceSum.self, [try Tensor(shape: [2], scalars: [1, 2] as [Int64])])
        }
    }

    @Test func meanPoolingRunsInASession() throws {
        var builder = GraphBuilder(name: "pool")
        let x = builder.input("x", .float32, ["batch", "seq", 8])
        let axes = builder.constant(try Tensor(shape: [1], scalars: [1] as [Int64]))
        builder.output(builder.node("ReduceMean", [x, axes], attributes: ["keepdims": .int(0)]), as: "y")
        let graph = try builder.build()
        #expect(graph.outputs[0].type == TensorType(.float32, ["batch", 8]))
        let session = try InferenceSession(model: Model(graph: graph), options: .init(threads: 2))
        let input = T.random([3, 5, 8], seed: 5)
        let output = try #require(try session.run(["x": input])["y"])
        T.expectClose(output, Self.expected(input, axes: [1], kind: .mean, keepDims: false))
    }
}
