import Kiln
import KilnTestSupport
import Testing

@Suite struct GemmTests {
    typealias T = NeuralNetworkTesting

    /// Y = alpha * A' B' + beta * C straight from the definition, in Double.
    static func referenceGemm(_ a: Tensor, _ b: Tensor, _ c: Tensor?, alpha: Float, beta: Float,
                              transA: Bool, transB: Bool) -> Tensor {
        let m = transA ? a.shape[1] : a.shape[0], k = transA ? a.shape[0] : a.shape[1]
        let n = transB ? b.shape[0] : b.shape[1]
        let x = try! a.scalars(as: Float.self), w = try! b.scalars(as: Float.self)
        let bias = try! c?.scalars(as: Float.self)
        var y: [Float] = []
        for row in 0..<m {
            for column in 0..<n {
                var total = 0.0
                for inner in 0..<k {
                    let left = transA ? x[inner * m + row] : x[row * k + inner]
                    let right = transB ? w[column * k + inner] : w[inner * n + column]
                    total += Double(left) * Double(right)
                }
                var value = Double(alpha) * total
                if let c, let bias, beta != 0 {
                    let rows = c.rank == 2 ? c.shape[0] : 1, columns = c.shape.last ?? 1
                    value += Double(beta) * Double(bias[(rows == 1 ? 0 : row) * columns + (columns == 1 ? 0 : column)])
                }
                y.append(Float(value))
            }
        }
        return T.tensor([m, n], y)
    }

    @Test(arguments: [false, true])
    func matchesReferenceForTransposesAndBiasShapes(transA: Bool) throws {
        for transB in [false, true] {
            for (m, k, n) in [(1, 1, 1), (1, 17, 9), (7, 9, 8), (16, 17, 15), (33, 8, 31), (0, 3, 4), (3, 0, 4), (5, 4, 0)] {
                let a = T.random(transA ? [k, m] : [m, k], seed: 1), b = T.random(transB ? [n, k] : [k, n], seed: 2)
                let biasShapes: [[Int]?] = [nil, [], [1], [n], [1, n], [m, 1], [m, n]]
                for biasShape in biasShapes {
                    let c = biasShape.map { T.random($0, seed: 3) }
                    let attributes: [String: Attribute] = ["alpha": .float(0.5), "beta": .float(2),
                                                           "transA": .int(transA ? 1 : 0), "transB": .int(transB ? 1 : 0)]
                    let y = try T.run(Gemm.self, [a, b, c], attributes: attributes)[0]
                    let expected = Self.referenceGemm(a, b, c, alpha: 0.5, beta: 2, transA: transA, transB: transB)
                    T.expectClose(y, expected, "m=\(m) k=\(k) n=\(n) transB=\(transB) C=\(String(describing: biasShape))")
                }
            }
        }
    }

    /// The linear-layer path (alpha = beta = 1, bias over the columns or none, fused activation): one
    /// block, row blocks (520 rows), column blocks (160 and 50 rows), and a product too narrow for
    /// columns.
    @Test(arguments: [false, true])
    func linearLayerPathMatchesReference(transB: Bool) throws {
        for (m, k, n) in [(1, 1, 1), (1, 512, 700), (7, 9, 8), (520, 24, 40), (160, 48, 96), (50, 64, 160), (64, 512, 10), (0, 3, 4),
                          (5, 4, 0)] {
            let a = T.random([m, k], seed: 1), b = T.random(transB ? [n, k] : [k, n], seed: 2)
            for biasShape in [nil, [n], [1, n]] as [[Int]?] {
                let c = biasShape.map { T.random($0, seed: 3) }
                let expected = Self.referenceGemm(a, b, c, alpha: 1, beta: 1, transA: false, transB: transB)
                for threads in [1, 2] {
                    let y = try T.run(Gemm.self, [a, b, c], attributes: ["transB": .int(transB ? 1 : 0)], threads: threads)[0]
                    T.expectClose(y, expected, "m=\(m) k=\(k) n=\(n) C=\(String(describing: biasShape)) threads=\(threads)")
                    let relu = try T.run(Gemm.self, [a, b, c], attributes: ["transB": .int(transB ? 1 : 0),
                                                                            "kiln_activation": .string("Relu")],
                                         threads: threads)[0]
                    T.expectClose(relu, T.tensor(expected.shape, try expected.scalars(as: Float.self).map { max(0, $0) }))
                }
            }
        }
    }

    @Test func ignoresBiasWhenBetaIsZero() throws {
        let a = T.random([2, 3], seed: 1), b = T.random([3, 4], seed: 2)
        let c = T.tensor([4], [.nan, .nan, .nan, .nan])
        let y = try T.run(Gemm.self, [a, b, c], attributes: ["beta": .float(0)])[0]
        T.expectClose(y, Self.referenceGemm(a, b, nil, alpha: 1, beta: 0, transA: false, transB: false))
    }

    @Test func computesAnExampleByHand() throws {
        // [[1, 2], [3, 4]] x [[5, 6], [7, 8]] = [[19, 22], [43, 50]]; plus 10 * [1, -1].
        let y = try T.run(Gemm.self, [T.tensor([2, 2], [1, 2, 3, 4]), T.tensor([2, 2], [5, 6, 7, 8]), T.tensor([2], [1, -1])],
                          attributes: ["beta": .float(10)])[0]
        #expect(try y.scalars(as: Float.self) == [29, 12, 53, 40])
    }

    @Test func infersShapesAndRejectsBadOnes() throws {
        let types = try T.infer(Gemm.self, [TensorType(.float32, ["batch", 512]), TensorType(.float32, [10, 512]),
                                            TensorType(.float32, [10])], attributes: ["transB": .int(1)])
        #expect(types[0] == TensorType(.float32, ["batch", 10]))
        #expect(throws: OperatorError.self) {
            try T.infer(Gemm.self, [TensorType(.float32, [2, 3]), TensorType(.float32, [4, 5])])
        }
        #expect(throws: OperatorError.self) {
            try T.run(Gemm.self, [T.random([2, 3], seed: 1), T.random([3, 4], seed: 2), T.random([3], seed: 3)])
        }
        #expect(throws: OperatorError.self) {
            try T.run(Gemm.self, [T.random([2, 3, 1], seed: 1), T.random([3, 4], seed: 2)])
        }
    }
}
