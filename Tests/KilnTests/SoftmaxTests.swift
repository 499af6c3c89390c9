import Foundation
import Kiln
import KilnTestSupport
import Testing

@Suite struct SoftmaxTests {
    typealias T = NeuralNetworkTesting

    static func reference(_ x: Tensor, outer: Int, length: Int, inner: Int, logarithm: Bool) -> Tensor {
        T.reference(x.shape, [x]) { pointers, output in
            SoftmaxKernels.reference(pointers[0], output, outer: outer, length: length, inner: inner, logarithm: logarithm)
        }
    }

    static let shapes: [[Int]] = [[1], [7], [8], [9], [3, 15], [2, 16], [4, 17], [2, 31], [3, 32], [1, 33], [2, 3, 5], [2, 33, 4], [3, 2, 1, 17]]

    @Test(arguments: shapes)
    func matchesReferenceAlongEveryAxis(shape: [Int]) throws {
        let x = T.random(shape, seed: 7, in: -8...8)
        for axis in -shape.count..<shape.count {
            let resolved = axis < 0 ? axis + shape.count : axis
            let outer = shape[..<resolved].reduce(1, *), length = shape[resolved], inner = shape[(resolved + 1)...].reduce(1, *)
            for (type, logarithm) in [(Softmax.self as any Operator.Type, false), (LogSoftmax.self, true)] {
                let y = try (type == Softmax.self ? T.run(Softmax.self, [x], attributes: ["axis": .int(axis)])
                                                  : T.run(LogSoftmax.self, [x], attributes: ["axis": .int(axis)]))[0]
                T.expectClose(y, Self.reference(x, outer: outer, length: length, inner: inner, logarithm: logarithm),
                              rtol: 1e-5, atol: 1e-6, "\(type) shape \(shape) axis \(axis)")
            }
        }
    }

    @Test func olderOpsetsFlattenToTwoDimensions() throws {
        let x = T.random([2, 3, 4], seed: 3, in: -3...3)
        // Opset 11, axis 1: each of the 2 rows of 12 values sums to 1.
        let legacy = try T.run(Softmax.self, [x], opset: 11)[0]
        T.expectClose(legacy, Self.reference(x, outer: 2, length: 12, inner: 1, logarithm: false), rtol: 1e-5, atol: 1e-6)
        // Opset 13 default axis -1: rows of 4.
        let modern = try T.run(Softmax.self, [x], opset: 13)[0]
        T.expectClose(modern, Self.reference(x, outer: 6, length: 4, inner: 1, logarithm: false), rtol: 1e-5, atol: 1e-6)
        let legacyLog = try T.run(LogSoftmax.self, [x], attributes: ["axis": .int(2)], opset: 12)[0]
        T.expectClose(legacyLog, Self.reference(x, outer: 6, length: 4, inner: 1, logarithm: true), rtol: 1e-5, atol: 1e-6)
    }

    @Test func computesTheSpecExample() throws {
        // softmax([-1, 0, 1]) = e^x / (e^-1 + 1 + e), from the ONNX Softmax example.
        let y = try T.run(Softmax.self, [T.tensor([1, 3], [-1, 0, 1])])[0]
        T.expectClose(y, T.tensor([1, 3], [0.09003057, 0.24472847, 0.66524096]), rtol: 1e-6, atol: 1e-7)
    }

    @Test func staysFiniteForLargeInputs() throws {
        // exp(1000) overflows; the maximum is subtracted first. Same as softmax([0, 1, 2, 3]).
        let y = try T.run(Softmax.self, [T.tensor([1, 4], [1000, 1001, 1002, 1003])])[0]
        T.expectClose(y, T.tensor([1, 4], [0.032058604, 0.087144315, 0.23688282, 0.6439142]), rtol: 1e-6, atol: 1e-7)
        let log = try T.run(LogSoftmax.self, [T.tensor([2], [-1e30, 0])])[0]
        #expect(try log.scalars(as: Float.self) == [-1e30, 0])
    }

    @Test func exponentialMatchesLibmAcrossTheFloatRange() {
        var worst: Float = 0
        var x: Float = -87.3
        while x < 88.7 {
            let exact = Foundation.exp(Double(x))
            let error = Float(abs(Double(Exponential.exp(x)) - exact) / exact)
            worst = max(worst, error)
            x += 0.0137
        }
        #expect(worst < 3e-7, "worst relative error \(worst)")
        #expect(Exponential.exp(0) == 1)
        #expect(Exponential.exp(-100) == 0)
        #expect(Exponential.exp(100) == .infinity)
        #expect(Exponential.exp(-.infinity) == 0)
        #expect(Exponential.exp(.nan).isNaN)
    }

    @Test func handlesEmptyTensorsAndRejectsBadAxes() throws {
        #expect(try T.run(Softmax.self, [T.random([0, 5], seed: 1)])[0].shape == [0, 5])
        #expect(try T.run(Softmax.self, [T.random([3, 0], seed: 1)])[0].shape == [3, 0])
        #expect(throws: OperatorError.self) { try T.run(Softmax.self, [T.random([2, 3], seed: 1)], attributes: ["axis": .int(2)]) }
        #expect(throws: OperatorError.self) { try T.run(LogSoftmax.self, [T.random([2, 3], seed: 1)], attributes: ["axis": .int(-3)]) }
        #expect(throws: OperatorError.self) {
            try T.infer(Softmax.self, [TensorType(.float32, ["batch", 3])], attributes: ["axis": .int(5)])
        }
        let types = try T.infer(Softmax.self, [TensorType(.float32, ["batch", 12, "seq", "seq"])])
        #expect(types[0] == TensorType(.float32, ["batch", 12, "seq", "seq"]))
    }
}
