import Kiln
import KilnTestSupport
import Testing

@Suite struct GraphBuilderTests {
    @Test func infersSymbolicShapesThroughRelu() throws {
        var builder = GraphBuilder(name: "relu")
        let x = builder.input("x", .float32, ["batch", 3])
        builder.output(builder.node("Relu", [x]), as: "y")
        let graph = try builder.build()
        #expect(graph.outputs[0].type == TensorType(.float32, ["batch", 3]))
    }

    @Test func runsReluAndValidatesInputs() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, ["batch", 3])
        builder.output(builder.node("Relu", [x]), as: "y")
        let session = try InferenceSession(model: Model(graph: builder.build()), options: .init(threads: 1))
        let input = try Tensor(shape: [2, 3], scalars: [-1, 2, -3, 4, 0, -0.5] as [Float])
        let output = try session.run(["x": input])["y"]
        #expect(try output?.scalars(as: Float.self) == [0, 2, 0, 4, 0, 0])
        #expect(throws: SessionError.rankMismatch(input: "x", expected: ["batch", 3], actual: [6])) {
            try session.run(["x": input.reshapedForTest([6])])
        }
        #expect(throws: SessionError.missingInput(name: "x", expected: TensorType(.float32, ["batch", 3]))) {
            try session.run([:])
        }
    }

    @Test func rejectsCycles() throws {
        var graph = Graph()
        graph.inputs = [ValueInfo("x", .float32, [1])]
        graph.nodes = [
            Node(name: "a", opType: "Relu", inputs: ["b"], outputs: ["a"]),
            Node(name: "b", opType: "Relu", inputs: ["a"], outputs: ["b"]),
        ]
        graph.outputs = [ValueInfo("b", .float32, [1])]
        #expect(throws: GraphError.cycle(involving: "a")) { try graph.validate() }
    }
}

extension Tensor {
    func reshapedForTest(_ shape: [Int]) throws -> Tensor {
        try Tensor(shape: shape, scalars: scalars(as: Float.self))
    }
}
