import Kiln
import Testing

@Suite struct PassResidualTests {
    struct Layer: CustomTestStringConvertible, Sendable {
        var channels: Int, size: Int, kernel: Int, stride: Int, groups: Int, bias: Bool
        var testDescription: String { "c\(channels) \(size)x\(size) k\(kernel) s\(stride) g\(groups) bias \(bias)" }
    }

    /// One layer per Conv kernel: pointwise GEMM, Winograd F(2x2) and F(4x4), im2col tiles (stride 2,
    /// 5x5), grouped, depthwise 3x3 and the generic depthwise kernel.
    static let layers: [Layer] = [
        Layer(channels: 8, size: 9, kernel: 1, stride: 1, groups: 1, bias: true),
        Layer(channels: 8, size: 15, kernel: 3, stride: 1, groups: 1, bias: false),
        Layer(channels: 8, size: 31, kernel: 3, stride: 1, groups: 1, bias: true),
        Layer(channels: 6, size: 17, kernel: 3, stride: 2, groups: 1, bias: true),
        Layer(channels: 4, size: 12, kernel: 5, stride: 1, groups: 2, bias: false),
        Layer(channels: 5, size: 11, kernel: 3, stride: 1, groups: 5, bias: true),
        Layer(channels: 5, size: 11, kernel: 5, stride: 1, groups: 5, bias: true),
    ]

    /// `Relu(Add(Conv(x), z))` with `z` a graph input of the Conv's output shape.
    private static func block(_ layer: Layer, residualFirst: Bool) throws -> Graph {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [2, layer.channels, layer.size, layer.size].map { Dim.fixed($0) })
        let outputSize = (layer.size + 2 * (layer.kernel / 2) - layer.kernel) / layer.stride + 1
        let z = builder.input("z", .float32, [2, layer.channels, outputSize, outputSize].map { Dim.fixed($0) })
        var inputs = [x, builder.constant(PassTesting.random([layer.channels, layer.channels / layer.groups,
                                                              layer.kernel, layer.kernel], seed: 1))]
        if layer.bias { inputs.append(builder.constant(PassTesting.random([layer.channels], seed: 2))) }
        let pad = layer.kernel / 2
        let conv = builder.node("Conv", inputs, attributes: [
            "pads": .ints([pad, pad, pad, pad]), "strides": .ints([layer.stride, layer.stride]),
            "group": .int(layer.groups),
        ])
        let sum = builder.node("Add", residualFirst ? [z, conv] : [conv, z])
        builder.output(builder.node("Relu", [sum]), as: "y")
        return try builder.build()
    }

    @Test(arguments: layers)
    func addAndReluFuseIntoEveryConvKernel(layer: Layer) throws {
        for residualFirst in [false, true] {
            let (fused, fired) = try PassTesting.apply(FuseResidualAddPass(), to: try Self.block(layer, residualFirst: residualFirst))
            #expect(fired == 1)
            #expect(PassTesting.count("Add", in: fused) == 0)
            let conv = try #require(fused.nodes.first { $0.opType == "Conv" })
            #expect(conv.inputs.count == 4 && conv.inputs[3] == "z")
            // The Relu after the sum now fuses too, and must still apply after the residual.
            let (activated, activations) = try PassTesting.apply(FuseActivationPass(), to: fused)
            #expect(activations == 1)
            #expect(Set(activated.nodes.map(\.opType)) == ["Conv", "Identity"])
        }
    }

    /// A transformer's `MatMul (+ bias) → Add(residual)`, at shapes for each split of the fused
    /// linear layer (one block, row blocks, column blocks), with and without the bias, and a
    /// batched product (B with batch dims) whose residual is added in a pass of its own.
    @Test(arguments: [[2, 3, 8, 5], [4, 130, 24, 40], [1, 50, 64, 160]])
    func residualFusesIntoMatMul(dims: [Int]) throws {
        for withBias in [true, false] {
            var builder = GraphBuilder()
            let x = builder.input("x", .float32, [Dim.fixed(dims[0]), Dim.fixed(dims[1]), Dim.fixed(dims[2])])
            let z = builder.input("z", .float32, [Dim.fixed(dims[0]), Dim.fixed(dims[1]), Dim.fixed(dims[3])])
            var product = builder.node("MatMul", [x, builder.constant(PassTesting.random([dims[2], dims[3]], seed: 1))])
            if withBias { product = builder.node("Add", [product, builder.constant(PassTesting.random([dims[3]], seed: 2))]) }
            builder.output(builder.node("Relu", [builder.node("Add", [z, product])]), as: "y")
            var graph = try builder.build()
            if withBias { graph = try PassTesting.apply(MatMulAddToGemmPass(), to: graph).graph }
            let (fused, fired) = try PassTesting.apply(FuseResidualAddPass(), to: graph)
            #expect(fired == 1)
            let matmul = try #require(fused.nodes.first { $0.opType == "MatMul" })
            #expect(matmul.inputs.count == 4 && matmul.inputs[3] == "z" && matmul.inputs[2].isEmpty == !withBias)
            let (activated, activations) = try PassTesting.apply(FuseActivationPass(), to: fused)
            #expect(activations == 1 && Set(activated.nodes.map(\.opType)) == ["MatMul", "Identity"])
        }
        var batched = GraphBuilder()
        let a = batched.input("a", .float32, [2, 3, 4, 5])
        let b = batched.input("b", .float32, [2, 3, 5, 6])
        let z = batched.input("z", .float32, [2, 3, 4, 6])
        batched.output(batched.node("Add", [batched.node("MatMul", [a, b]), z]), as: "y")
        #expect(try PassTesting.apply(FuseResidualAddPass(), to: batched.build()).fired == 1)
    }

    @Test func laterConvAbsorbsTheSumOfTwoConvs() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [1, 8, 10, 10])
        let main = builder.node("Conv", [x, builder.constant(PassTesting.random([16, 8, 1, 1], seed: 1))])
        let shortcut = builder.node("Conv", [x, builder.constant(PassTesting.random([16, 8, 1, 1], seed: 2)),
                                             builder.constant(PassTesting.random([16], seed: 3))])
        builder.output(builder.node("Add", [main, shortcut]), as: "y")
        let (graph, fired) = try PassTesting.apply(FuseResidualAddPass(), to: builder.build())
        #expect(fired == 1)
        let convs = graph.nodes.filter { $0.opType == "Conv" }
        #expect(convs.count == 2 && convs[0].inputs.count == 2 && convs[1].inputs.count == 4)
        #expect(convs[1].inputs[3] == convs[0].outputs[0])
    }

    @Test func broadcastActivatedOrSharedConvsAreLeftAlone() throws {
        // A broadcast operand: the sum has the Conv's shape but z does not.
        var broadcast = GraphBuilder()
        let x = broadcast.input("x", .float32, [1, 4, 6, 6])
        let conv = broadcast.node("Conv", [x, broadcast.constant(PassTesting.random([4, 4, 1, 1], seed: 1))])
        broadcast.output(broadcast.node("Add", [conv, broadcast.constant(PassTesting.random([1, 4, 1, 1], seed: 2))]), as: "y")
        #expect(try PassTesting.apply(FuseResidualAddPass(), to: broadcast.build()).fired == 0)

        // A Conv with its activation already fused: relu(conv) + z is not relu(conv + z).
        var activated = GraphBuilder()
        let a = activated.input("x", .float32, [1, 4, 6, 6])
        let activatedConv = activated.node("Conv", [a, activated.constant(PassTesting.random([4, 4, 1, 1], seed: 1))],
                                           attributes: ["kiln_activation": .string("Relu")])
        activated.output(activated.node("Add", [activatedConv, a]), as: "y")
        #expect(try PassTesting.apply(FuseResidualAddPass(), to: activated.build()).fired == 0)

        // The Conv's output is also read elsewhere.
        var shared = GraphBuilder()
        let s = shared.input("x", .float32, [1, 4, 6, 6])
        let sharedConv = shared.node("Conv", [s, shared.constant(PassTesting.random([4, 4, 1, 1], seed: 1))])
        shared.output(shared.node("Add", [sharedConv, s]), as: "y")
        shared.output(sharedConv, as: "raw")
        #expect(try PassTesting.apply(FuseResidualAddPass(), to: shared.build()).fired == 0)
    }

    @Test func residualOfTheWrongShapeIsATypedError() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [1, 4, 6, 6])
        let z = builder.input("z", .float32, [1, 4, "h", 6])
        builder.output(builder.node("Conv", [x, builder.constant(PassTesting.random([4, 4, 1, 1], seed: 1)), "", z],
                                    attributes: ["kiln_residual": .int(1)]), as: "y")
        let session = try InferenceSession(model: Model(graph: builder.build()))
        let inputs = ["x": PassTesting.random([1, 4, 6, 6], seed: 3), "z": PassTesting.random([1, 4, 5, 6], seed: 4)]
        #expect(throws: (any Error).self) { try session.run(inputs) }
        do {
            _ = try session.run(inputs)
        } catch {
            #expect("\(error)".contains("residual Z"))
        }
    }
}
