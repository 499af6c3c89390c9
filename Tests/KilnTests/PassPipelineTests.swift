import Kiln
import KilnTestSupport
import Testing

@Suite struct PassPipelineTests {
    /// Conv + BatchNormalization + Relu behind an Identity, with a constant branch: the default
    /// pipeline leaves one Conv carrying the activation.
    @Test func defaultPipelineFoldsFusesAndCleansUp() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [1, 3, 8, 8])
        let copy = builder.node("Identity", [x])
        let conv = builder.node("Conv", [copy, builder.constant(PassTesting.random([4, 3, 3, 3], seed: 1))],
                                attributes: ["pads": .ints([1, 1, 1, 1])])
        let parameters = (0..<4).map { builder.constant(PassTesting.random([4], seed: 10 + UInt64($0), in: 0.5...1.5)) }
        let norm = builder.node("BatchNormalization", [conv] + parameters)
        let offset = builder.node("Add", [builder.constant(PassTesting.tensor([1], [1])), builder.constant(PassTesting.tensor([1], [2]))])
        let activated = builder.node("Relu", [norm])
        builder.output(builder.node("Add", [activated, offset]), as: "y")
        let original = try builder.build()
        var graph = original
        let fired = try PassPipeline.default.run(&graph)
        let names = Set(fired.map(\.name))
        #expect(names.isSuperset(of: ["remove_identity", "fold_constants", "fold_batch_norm", "fuse_activation", "eliminate_dead_nodes"]))
        #expect(graph.operatorCounts == ["Conv": 1, "Add": 1])
        let inputs = PassTesting.randomInputs(for: original)
        let expected = try PassTesting.outputs(of: original, inputs)["y"]!
        let actual = try PassTesting.outputs(of: graph, inputs)["y"]!
        #expect(Comparison.compare(actual, expected, rtol: 1e-5, atol: 1e-5).isClose)
    }

    @Test func summaryListsCountsInOrder() {
        #expect(PassPipeline.summary([("fold_batch_norm", 20), ("fuse_activation", 17)]) == "fold_batch_norm=20, fuse_activation=17")
        #expect(PassPipeline.summary([]) == "none")
    }
}
