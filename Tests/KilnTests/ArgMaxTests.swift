import Kiln
import KilnTestSupport
import Testing

@Suite struct ArgMaxTests {
    typealias T = NeuralNetworkTesting

    static func expected(_ x: Tensor, axis: Int, keepDims: Bool, maximum: Bool, lastIndex: Bool) -> [Int64] {
        let resolved = axis < 0 ? axis + x.rank : axis
        let outer = x.shape[..<resolved].reduce(1, *), length = x.shape[resolved], inner = x.shape[(resolved + 1)...].reduce(1, *)
        var output = [Int64](repeating: -1, count: outer * inner)
        let values = try! x.scalars(as: Float.self)
        values.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { result in
                ArgumentExtremumKernels.reference(input.baseAddress!, result.baseAddress!, outer: outer, length: length,
                                                  inner: inner, maximum: maximum, lastIndex: lastIndex)
            }
        }
        return output
    }

    @Test(arguments: [[7], [3, 8], [4, 9], [2, 3, 16], [2, 17, 5], [3, 33], [2, 2, 31, 2]])
    func matchesReferenceOnEveryAxis(shape: [Int]) throws {
        // Values from a small set so that ties happen.
        let x = T.tensor(shape, try T.random(shape, seed: 1, in: 0...4).scalars(as: Float.self).map { $0.rounded() })
        for axis in -shape.count..<shape.count {
            for keepDims in [true, false] {
                for lastIndex in [false, true] {
                    let attributes: [String: Attribute] = ["axis": .int(axis), "keepdims": .int(keepDims ? 1 : 0),
                                                           "select_last_index": .int(lastIndex ? 1 : 0)]
                    let maxIndices = try T.run(ArgMax.self, [x], attributes: attributes)[0]
                    #expect(try maxIndices.scalars(as: Int64.self) == Self.expected(x, axis: axis, keepDims: keepDims, maximum: true, lastIndex: lastIndex))
                    let minIndices = try T.run(ArgMin.self, [x], attributes: attributes)[0]
                    #expect(try minIndices.scalars(as: Int64.self) == Self.expected(x, axis: axis, keepDims: keepDims, maximum: false, lastIndex: lastIndex))
                }
            }
        }
    }

    @Test func computesSpecExamples() throws {
        // ONNX ArgMax example: [[2, 1], [3, 10]] -> axis 0 keepdims: [[1, 1]]; axis 1: [[0], [1]].
        let x = T.tensor([2, 2], [2, 1, 3, 10])
        let axis0 = try T.run(ArgMax.self, [x])[0]
        #expect(axis0.shape == [1, 2])
        #expect(try axis0.scalars(as: Int64.self) == [1, 1])
        let axis1 = try T.run(ArgMax.self, [x], attributes: ["axis": .int(1), "keepdims": .int(0)])[0]
        #expect(axis1.shape == [2])
        #expect(try axis1.scalars(as: Int64.self) == [0, 1])
        // select_last_index example: [[2, 2], [3, 10]] over axis 1 -> [1, 1] instead of [0, 1].
        let ties = try T.run(ArgMax.self, [T.tensor([2, 2], [2, 2, 3, 10])], attributes: ["axis": .int(1), "select_last_index": .int(1)])[0]
        #expect(try ties.scalars(as: Int64.self) == [1, 1])
        let minimum = try T.run(ArgMin.self, [x], attributes: ["axis": .int(1)])[0]
        #expect(try minimum.scalars(as: Int64.self) == [1, 0])
    }

    @Test func infersShapesAndRejectsEmptyAxes() throws {
        let types = try T.infer(ArgMax.self, [TensorType(.float32, ["batch", "seq", 30522])], attributes: ["axis": .int(-1), "keepdims": .int(0)])
        #expect(types[0] == TensorType(.int64, ["batch", "seq"]))
        #expect(throws: OperatorError.self) { try T.run(ArgMax.self, [T.random([3, 0], seed: 1)], attributes: ["axis": .int(1)]) }
        #expect(try T.run(ArgMax.self, [T.random([0, 3], seed: 1)], attributes: ["axis": .int(1)])[0].shape == [0, 1])
        #expect(throws: OperatorError.self) { try T.run(ArgMin.self, [T.random([3], seed: 1)], attributes: ["axis": .int(1)]) }
    }
}
