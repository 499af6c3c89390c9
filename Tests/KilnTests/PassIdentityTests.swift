import Kiln
import Testing

@Suite struct PassIdentityTests {
    @Test func identityAndInferenceDropoutAreRemovedAndOutputNamesKept() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [2, 5])
        let relu = builder.node("Relu", [x])
        let copy = builder.node("Identity", [relu])
        let dropped = builder.node("Dropout", [copy])
        let sigmoid = builder.node("Sigmoid", [dropped])
        builder.output(sigmoid, as: "y")  // adds an Identity that names the graph output
        builder.output(builder.node("Identity", [x]), as: "x_copy")  // the input itself: must stay
        let (graph, fired) = try PassTesting.apply(RemoveIdentityPass(), to: builder.build())
        #expect(fired == 4)
        #expect(PassTesting.count("Dropout", in: graph) == 0)
        // Only the Identity copying a graph input to a graph output remains.
        let identities = graph.nodes.filter { $0.opType == "Identity" }
        #expect(identities.count == 1 && identities.first?.inputs == [x] && identities.first?.outputs == ["x_copy"])
        #expect(graph.nodes.contains { $0.opType == "Sigmoid" && $0.outputs == ["y"] })
    }

    @Test func dropoutWithReadMaskStays() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [4])
        let outputs = builder.node("Dropout", [x], outputCount: 2)
        builder.output(builder.node("Relu", [outputs[0]]), as: "y")
        builder.output(builder.node("Cast", [outputs[1]], attributes: ["to": .int(1)]), as: "mask")
        let (graph, _) = try PassTesting.apply(RemoveIdentityPass(), to: builder.build())
        #expect(PassTesting.count("Dropout", in: graph) == 1)
    }
}

@Suite struct PassDeadNodeTests {
    @Test func unreadNodesAndInitializersAreRemoved() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [3])
        let unusedWeight = builder.constant(PassTesting.tensor([3], [1, 2, 3]))
        _ = builder.constant(PassTesting.tensor([2], [5, 6]), name: "orphan")
        let dead = builder.node("Mul", [x, unusedWeight])
        _ = builder.node("Exp", [dead])
        builder.output(builder.node("Relu", [x]), as: "y")
        let (graph, fired) = try PassTesting.apply(DeadNodeEliminationPass(), to: builder.build())
        #expect(fired == 4)  // Mul, Exp, two initializers
        #expect(graph.initializers.isEmpty)
        #expect(Set(graph.nodes.map(\.opType)) == ["Relu", "Identity"])
    }
}
