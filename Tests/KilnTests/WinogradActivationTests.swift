import Kiln
import KilnTestSupport
import Testing

/// A fused activation must also apply on the Winograd path of Conv (3x3, stride 1, enough tiles).
@Suite struct WinogradActivationTests {
    @Test(arguments: [1, 2])
    func fusedReluMatchesSeparateRelu(threads: Int) throws {
        let shape = [1, 48, 16, 16], weightShape = [48, 48, 3, 3]  // 48 channels: enough for Winograd
        var seed: UInt64 = 42
        func random(_ count: Int) -> [Float] {
            (0..<count).map { _ in
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                return Float(seed >> 40) / Float(1 << 23) - 1
            }
        }
        let weights = try Tensor(shape: weightShape, scalars: random(48 * 48 * 9))
        let input = try Tensor(shape: shape, scalars: random(48 * 16 * 16))

        var separate = GraphBuilder()
        let x1 = separate.input("x", .float32, [Dim](shape))
        let conv = separate.node("Conv", [x1, separate.constant(weights)], attributes: ["pads": .ints([1, 1, 1, 1])])
        separate.output(separate.node("Relu", [conv]), as: "y")

        var fused = GraphBuilder()
        let x2 = fused.input("x", .float32, [Dim](shape))
        fused.output(fused.node("Conv", [x2, fused.constant(weights)],
                                attributes: ["pads": .ints([1, 1, 1, 1]), "kiln_activation": .string("Relu")]), as: "y")

        let expected = try InferenceSession(model: Model(graph: separate.build()), options: .init(threads: threads)).run(["x": input])["y"]!
        let actual = try InferenceSession(model: Model(graph: fused.build()), options: .init(threads: threads)).run(["x": input])["y"]!
        let comparison = Comparison.compare(actual, expected, rtol: 1e-6, atol: 1e-6)
        #expect(comparison.isClose, "\(comparison)")
        #expect(try actual.scalars(as: Float.self).allSatisfy { $0 >= 0 })
    }
}
