import Kiln
import Testing

/// Shape arithmetic as PyTorch exports it, through `GraphBuilder`, type inference and a session.
@Suite struct ShapeInferenceChainTests {
    /// `x.view(x.shape[0], x.shape[1], 12, 32).transpose(1, 2)` as exported: Shape -> Gather ->
    /// Unsqueeze -> Concat -> Reshape -> Transpose.
    private func attentionSplitGraph(opset: Int = 17) throws -> Graph {
        var builder = GraphBuilder(name: "split_heads", opset: opset)
        let x = builder.input("x", .float32, ["batch", "seq", 384])
        let shape = builder.node("Shape", [x])
        let zero = builder.constant(Tensor(scalar: Int64(0)))
        let one = builder.constant(Tensor(scalar: Int64(1)))
        let axes = builder.constant(try DataMovement.int64s([0]))
        let batch = builder.node("Unsqueeze", [builder.node("Gather", [shape, zero], attributes: ["axis": .int(0)]), axes])
        let seq = builder.node("Unsqueeze", [builder.node("Gather", [shape, one], attributes: ["axis": .int(0)]), axes])
        let heads = builder.constant(try DataMovement.int64s([12]))
        let width = builder.constant(try DataMovement.int64s([32]))
        let target = builder.node("Concat", [batch, seq, heads, width], attributes: ["axis": .int(0)], name: "target")
        let reshaped = builder.node("Reshape", [x, target], name: "reshaped")
        builder.output(builder.node("Transpose", [reshaped], attributes: ["perm": .ints([0, 2, 1, 3])]), as: "y")
        return try builder.build()
    }

    @Test func symbolsFlowThroughShapeGatherUnsqueezeConcatReshape() throws {
        let graph = try attentionSplitGraph()
        #expect(graph.valueTypes["target"] == TensorType(.int64, [4]))
        #expect(graph.valueTypes["reshaped"] == TensorType(.float32, ["batch", "seq", 12, 32]))
        #expect(graph.outputs[0].type == TensorType(.float32, ["batch", 12, "seq", 32]))
    }

    @Test func sessionRunsTheChainOnConcreteInputs() throws {
        let session = try InferenceSession(model: Model(graph: attentionSplitGraph()), options: .init(threads: 2))
        for (batch, seq) in [(2, 5), (1, 1), (3, 0)] {
            let x = try DataMovement.tensor(.float32, [batch, seq, 384], seed: UInt64(batch * 10 + seq))
            let y = try #require(try session.run(["x": x])["y"])
            #expect(y.shape == [batch, 12, seq, 32])
            let expected = try TransposeTests.naiveTranspose(x.reshaped(to: [batch, seq, 12, 32]), [0, 2, 1, 3])
            #expect(DataMovement.bytes(y) == DataMovement.bytes(expected))
        }
    }

    @Test func slicedShapeVectorsKeepTheirSymbols() throws {
        // x.view(*x.shape[:-1], 12, 32): Shape -> Slice -> Concat -> Reshape.
        var builder = GraphBuilder(name: "sliced")
        let x = builder.input("x", .float16, ["batch", "seq", 384])
        let shape = builder.node("Shape", [x])
        let prefix = builder.node("Slice", [shape, builder.constant(try DataMovement.int64s([0])), builder.constant(try DataMovement.int64s([-1]))])
        let target = builder.node("Concat", [prefix, builder.constant(try DataMovement.int64s([12, 32]))], attributes: ["axis": .int(0)])
        builder.output(builder.node("Reshape", [x, target]), as: "y")
        let graph = try builder.build()
        #expect(graph.outputs[0].type == TensorType(.float16, ["batch", "seq", 12, 32]))
        let session = try InferenceSession(model: Model(graph: graph), options: .init(threads: 1))
        let y = try session.run(["x": try DataMovement.tensor(.float16, [2, 3, 384])])["y"]
        #expect(y?.shape == [2, 3, 12, 32])
    }

    @Test func staticShapesFoldToConstants() throws {
        // Gather of a constant shape vector with constant indices: everything downstream is fixed.
        var builder = GraphBuilder(name: "static")
        let x = builder.input("x", .int32, [2, 3, 4])
        let shape = builder.node("Shape", [x])
        let picked = builder.node("Gather", [shape, builder.constant(try DataMovement.int64s([2, 0]))])
        let target = builder.node("Concat", [picked, builder.constant(try DataMovement.int64s([-1]))], attributes: ["axis": .int(0)])
        builder.output(builder.node("Reshape", [x, target]), as: "y")
        let graph = try builder.build()
        #expect(graph.outputs[0].type == TensorType(.int32, [4, 2, 3]))
    }

    @Test func nonConstantShapesStillGiveTheRank() throws {
        // The target comes from another input's values: only its length is known.
        var builder = GraphBuilder(name: "dynamic")
        let x = builder.input("x", .float32, ["n"])
        let target = builder.input("target", .int64, [2])
        builder.output(builder.node("Reshape", [x, target]), as: "y")
        let graph = try builder.build()
        #expect(graph.outputs[0].type.rank == 2)
        #expect(graph.outputs[0].type.shape?.allSatisfy(\.isFresh) == true)
        let session = try InferenceSession(model: Model(graph: graph), options: .init(threads: 1))
        let y = try session.run(["x": try DataMovement.iota([6]), "target": try DataMovement.int64s([3, -1])])["y"]
        #expect(y?.shape == [3, 2])
        #expect(throws: SessionError.self) {
            try session.run(["x": try DataMovement.iota([6]), "target": try DataMovement.int64s([4, -1])])
        }
    }

    @Test func kernelErrorsNameTheNode() throws {
        var builder = GraphBuilder(name: "bad_gather")
        let x = builder.input("x", .float32, [3])
        let indices = builder.input("indices", .int64, [1])
        builder.output(builder.node("Gather", [x, indices], name: "pick"), as: "y")
        let session = try InferenceSession(model: Model(graph: builder.build()), options: .init(threads: 1))
        #expect(throws: SessionError.kernelFailed(node: "pick", opType: "Gather", reason: "index 7 is out of range for axis 0 of size 3")) {
            try session.run(["x": try DataMovement.iota([3]), "indices": try DataMovement.int64s([7])])
        }
    }
}
