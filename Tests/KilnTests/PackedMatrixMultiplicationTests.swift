import Kiln
import KilnTestSupport
import Testing

/// ``PackedMatrixMultiplication`` called directly (a baseline build never selects it, so `Gemm` and
/// `MatMul` alone would not run it here) against a textbook triple loop in double precision.
@Suite struct PackedMatrixMultiplicationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var m: Int, k: Int, n: Int
        var transposeB = false, bias = true, residual = false
        var activation: FusedActivation? = nil
        var testDescription: String {
            "\(m)x\(k)x\(n) transB \(transposeB) bias \(bias) residual \(residual) \(activation.map { "\($0)" } ?? "none")"
        }
    }

    /// One block exactly, a last block that moves back, a single reduction step, several panels,
    /// and enough rows with a short K for several row chunks (a chunk is at least 128 rows); fewer
    /// rows than a block (``PackedMatrixMultiplication/multiplyFewRows``) with odd and even K.
    static let cases: [Case] = [
        Case(m: 1, k: 37, n: 128, residual: true, activation: .relu),
        Case(m: 1, k: 1, n: 64, bias: false),
        Case(m: 5, k: 64, n: 192, transposeB: true, activation: .gelu),
        Case(m: 6, k: 5, n: 64),
        Case(m: 7, k: 1, n: 128, transposeB: true, activation: .relu),
        Case(m: 13, k: 37, n: 192, bias: false, residual: true, activation: .gelu),
        Case(m: 128, k: 384, n: 64, transposeB: true, residual: true, activation: .clip(low: -1, high: 1)),
        Case(m: 701, k: 3, n: 128, activation: .sigmoid),
    ]

    @Test(arguments: cases)
    func matchesReference(test: Case) throws {
        for threads in [1, 2] { try Self.check(test, threads: threads) }
    }

    @Test func partialPanelsOrNoRowsAreATypedError() throws {
        #expect(!PackedMatrixMultiplication.supports(rows: 5))
        #expect(!PackedMatrixMultiplication.supports(columns: 96))
        let a = [Float](repeating: 1, count: 5 * 4), packed = [Float](repeating: 1, count: 4 * 96)
        var c = [Float](repeating: 0, count: 5 * 96)
        for (m, n) in [(5, 96), (0, 64)] {
            #expect(throws: OperatorError.self) {
                try PackedMatrixMultiplication.multiply(m: m, n: n, k: 4, a: a, packed: packed, bias: nil, residual: nil,
                                                        activation: nil, c: &c, context: ExecutionContext(threads: 1))
            }
        }
    }

    /// A file packed by an AVX-512 build, read by one without the kernel: the panels unpack to B.
    @Test(arguments: [false, true])
    func unpackingInvertsPacking(transposeB: Bool) throws {
        let (k, n) = (37, 192)
        let b = try NeuralNetworkTesting.random(transposeB ? [n, k] : [k, n], seed: 11).scalars(as: Float.self)
        var packed = [Float](repeating: .nan, count: k * n)
        PackedMatrixMultiplication.pack(b, transposeB: transposeB, k: k, n: n, into: &packed)
        var unpacked = [Float](repeating: .nan, count: k * n)
        PackedMatrixMultiplication.unpack(packed, k: k, n: n, into: &unpacked)
        let expected = transposeB ? (0..<k * n).map { b[($0 % n) * k + $0 / n] } : b
        #expect(unpacked == expected)
    }

    static func check(_ test: Case, threads: Int) throws {
        let (m, k, n) = (test.m, test.k, test.n)
        let seed = UInt64(m * 31 + k * 7 + n)
        let a = try NeuralNetworkTesting.random([m, k], seed: seed).scalars(as: Float.self)
        let b = try NeuralNetworkTesting.random(test.transposeB ? [n, k] : [k, n], seed: seed + 1).scalars(as: Float.self)
        let bias = try NeuralNetworkTesting.random([n], seed: seed + 2).scalars(as: Float.self)
        let residual = try NeuralNetworkTesting.random([m, n], seed: seed + 3).scalars(as: Float.self)
        var expected = [Float](repeating: 0, count: m * n)
        for row in 0..<m {
            for column in 0..<n {
                var sum = test.bias ? Double(bias[column]) : 0
                for index in 0..<k {
                    let right = test.transposeB ? b[column * k + index] : b[index * n + column]
                    sum += Double(a[row * k + index]) * Double(right)
                }
                let value = Float(sum) + (test.residual ? residual[row * n + column] : 0)
                expected[row * n + column] = test.activation?.reference(value) ?? value
            }
        }
        var packed = [Float](repeating: .nan, count: k * n)
        PackedMatrixMultiplication.pack(b, transposeB: test.transposeB, k: k, n: n, into: &packed,
                                        context: ExecutionContext(threads: threads))
        var c = [Float](repeating: .nan, count: m * n)
        try PackedMatrixMultiplication.multiply(m: m, n: n, k: k, a: a, packed: packed, bias: test.bias ? bias : nil,
                                                residual: test.residual ? residual : nil, activation: test.activation,
                                                c: &c, context: ExecutionContext(threads: threads))
        var worst: Float = 0
        for index in 0..<m * n {
            let error = abs(c[index] - expected[index]) / (1e-5 + 1e-5 * abs(expected[index]))
            worst = c[index].isNaN ? .infinity : max(worst, error)
        }
        #expect(worst <= 1, "\(test) threads \(threads): worst error \(worst) tolerances")
    }
}
