import Kiln
import Testing

/// `MatMul → Add(bias) → activation` as transformer exports write it, fused into one MatMul node
/// (``MatMulAddToGemmPass`` then ``FuseActivationPass``); every step is checked against the unfused
/// graph by ``PassTesting/apply(_:to:tolerance:sourceLocation:)``.
@Suite struct PassLinearLayerTests {
    /// Shapes that take each path of `multiplyAddingBias` at 2 threads: one block (small), row blocks
    /// (520 rows), column blocks (160 and 50 rows), a product large enough to split but too narrow
    /// for column blocks (64 x 512 x 10), and odd sizes around the split points.
    @Test(arguments: [[2, 3, 8, 5], [4, 130, 24, 40], [2, 80, 48, 96], [1, 50, 64, 160], [1, 64, 512, 10],
                      [3, 43, 33, 97]])
    func biasAndGeluFuseIntoMatMul(dims: [Int]) throws {
        for approximate in ["none", "tanh"] {
            var builder = GraphBuilder()
            let x = builder.input("x", .float32, [Dim.fixed(dims[0]), Dim.fixed(dims[1]), Dim.fixed(dims[2])])
            let product = builder.node("MatMul", [x, builder.constant(PassTesting.random([dims[2], dims[3]], seed: 1))])
            let biased = builder.node("Add", [product, builder.constant(PassTesting.random([dims[3]], seed: 2))])
            builder.output(builder.node("Gelu", [biased], attributes: ["approximate": .string(approximate)]), as: "y")
            let (withBias, biasFusions) = try PassTesting.apply(MatMulAddToGemmPass(), to: builder.build())
            #expect(biasFusions == 1)
            let (fused, activations) = try PassTesting.apply(FuseActivationPass(), to: withBias)
            #expect(activations == 1)
            #expect(Set(fused.nodes.map(\.opType)) == ["MatMul", "Identity"])
        }
    }

    @Test func reluFusesIntoABatchedMatMul() throws {
        var builder = GraphBuilder()
        let a = builder.input("a", .float32, [2, 3, 4, 5])
        let b = builder.input("b", .float32, [2, 3, 5, 6])
        builder.output(builder.node("Relu", [builder.node("MatMul", [a, b])]), as: "y")
        let (graph, fired) = try PassTesting.apply(FuseActivationPass(), to: builder.build())
        #expect(fired == 1)
        #expect(PassTesting.count("Relu", in: graph) == 0)
    }

    @Test func biasOfTheWrongLengthIsATypedError() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [2, 3, 4])
        builder.output(builder.node("MatMul", [x, builder.constant(PassTesting.random([4, 5], seed: 1)),
                                               builder.constant(PassTesting.random([4], seed: 2))],
                                    attributes: ["kiln_bias": .int(1)]), as: "y")
        #expect(throws: (any Error).self) {
            let session = try InferenceSession(model: Model(graph: builder.build()))
            _ = try session.run(["x": PassTesting.random([2, 3, 4], seed: 3)])
        }
    }
}
