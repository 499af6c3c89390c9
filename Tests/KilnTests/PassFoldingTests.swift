import Kiln
import Testing

@Suite struct PassFoldingTests {
    @Test func constantArithmeticAndKnownShapeSubgraphsFold() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [2, 12])
        let a = builder.constant(PassTesting.tensor([12], (0..<12).map { Float($0) }))
        let b = builder.constant(PassTesting.tensor([12], (0..<12).map { Float($0) * 0.5 }))
        let sum = builder.node("Add", [a, b])
        let scaled = builder.node("Mul", [x, sum])
        // Reshape to [batch, -1, 3] with batch read from the (static) input shape.
        let shape = builder.node("Shape", [x])
        let batch = builder.node("Gather", [shape, builder.constant(try Tensor(shape: [], scalars: [Int64(0)]))])
        let batchVector = builder.node("Unsqueeze", [batch, builder.constant(try Tensor(shape: [1], scalars: [Int64(0)]))])
        let target = builder.node("Concat", [batchVector, builder.constant(try Tensor(shape: [2], scalars: [Int64(-1), 3]))],
                                  attributes: ["axis": .int(0)])
        builder.output(builder.node("Reshape", [scaled, target]), as: "y")
        let (graph, fired) = try PassTesting.apply(ConstantFoldingPass(), to: builder.build())
        #expect(fired == 5)  // Add, Shape, Gather, Unsqueeze, Concat
        #expect(Set(graph.nodes.map(\.opType)) == ["Mul", "Reshape", "Identity"])
        let reshape = try #require(graph.nodes.first { $0.opType == "Reshape" })
        #expect(graph.initializers[reshape.inputs[1]]?.int64s() == [2, -1, 3])
    }

    @Test func symbolicShapeSubgraphsStay() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, ["batch", 4])
        let shape = builder.node("Shape", [x])
        builder.output(builder.node("Reshape", [x, shape]), as: "y")
        let (graph, fired) = try PassTesting.apply(ConstantFoldingPass(), to: builder.build())
        #expect(fired == 0)
        #expect(PassTesting.count("Shape", in: graph) == 1)
    }

    @Test func foldingNeverGrowsTheFile() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [512, 512])
        let one = builder.constant(PassTesting.tensor([1], [2]))
        // A 1 MB value from 4 bytes of constants: folding it would bloat the file.
        let big = builder.node("Expand", [one, builder.constant(try Tensor(shape: [2], scalars: [Int64(512), 512]))])
        builder.output(builder.node("Mul", [x, big]), as: "y")
        let (graph, fired) = try PassTesting.apply(ConstantFoldingPass(), to: builder.build())
        #expect(fired == 0)
        #expect(PassTesting.count("Expand", in: graph) == 1)
    }

    @Test func largeWeightTransposeFoldsWithoutGrowth() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [2, 300])
        let weights = builder.constant(PassTesting.random([300, 300], seed: 3))
        let transposed = builder.node("Transpose", [weights], attributes: ["perm": .ints([1, 0])])
        builder.output(builder.node("MatMul", [x, transposed]), as: "y")
        let (graph, fired) = try PassTesting.apply(ConstantFoldingPass(), to: builder.build())
        #expect(fired == 1)
        #expect(PassTesting.count("Transpose", in: graph) == 0)
    }
}
