import Kiln
import Testing

@Suite struct PassLayerNormTests {
    /// The decomposition PyTorch exports for `nn.LayerNorm` (opset < 17).
    static func decomposedLayerNorm(_ builder: inout GraphBuilder, _ x: String, width: Int, axesAsInput: Bool) -> String {
        func mean(_ value: String) -> String {
            axesAsInput
                ? builder.node("ReduceMean", [value, builder.constant(try! Tensor(shape: [1], scalars: [Int64(-1)]))])
                : builder.node("ReduceMean", [value], attributes: ["axes": .ints([-1])])
        }
        let average = mean(x)
        let centered = builder.node("Sub", [x, average])
        let squared = builder.node("Pow", [centered, builder.constant(PassTesting.tensor([], [2]))])
        let variance = mean(squared)
        let shifted = builder.node("Add", [variance, builder.constant(PassTesting.tensor([], [1e-5]))])
        let deviation = builder.node("Sqrt", [shifted])
        let normalized = builder.node("Div", [centered, deviation])
        let scaled = builder.node("Mul", [normalized, builder.constant(PassTesting.random([width], seed: 5, in: 0.5...1.5))])
        return builder.node("Add", [builder.constant(PassTesting.random([width], seed: 6)), scaled])
    }

    @Test(arguments: [(17, false), (18, true)])
    func patternBecomesLayerNormalization(opset: Int, axesAsInput: Bool) throws {
        var builder = GraphBuilder(opset: opset)
        let x = builder.input("x", .float32, ["batch", 5, 16])
        let first = Self.decomposedLayerNorm(&builder, x, width: 16, axesAsInput: axesAsInput)
        let relu = builder.node("Relu", [first])
        builder.output(Self.decomposedLayerNorm(&builder, relu, width: 16, axesAsInput: axesAsInput), as: "y")
        let (graph, fired) = try PassTesting.apply(FuseLayerNormPass(), to: builder.build(), tolerance: 1e-5)
        #expect(fired == 2)
        #expect(graph.operatorCounts == ["LayerNormalization": 2, "Relu": 1, "Identity": 1])
    }

    @Test func centeredValueReadElsewhereBlocksFusion() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [2, 8])
        let normalized = Self.decomposedLayerNorm(&builder, x, width: 8, axesAsInput: true)
        builder.output(normalized, as: "y")
        var graph = try builder.build()
        let sub = try #require(graph.nodes.first { $0.opType == "Sub" })
        graph.outputs.append(ValueInfo(name: sub.outputs[0], type: TensorType(.float32, nil)))
        let (_, fired) = try PassTesting.apply(FuseLayerNormPass(), to: graph)
        #expect(fired == 0)
    }
}

@Suite struct PassGeluTests {
    enum Form: CaseIterable { case pytorch, halfInside, halfFirst, multiplyBySqrtHalf }

    static func gelu(_ builder: inout GraphBuilder, _ x: String, form: Form) -> String {
        let scaled = form == .multiplyBySqrtHalf
            ? builder.node("Mul", [x, builder.constant(PassTesting.tensor([], [0.70710677]))])
            : builder.node("Div", [x, builder.constant(PassTesting.tensor([], [1.4142135]))])
        let erf = builder.node("Erf", [scaled])
        let onePlus = builder.node("Add", [builder.constant(PassTesting.tensor([], [1])), erf])
        let half = builder.constant(PassTesting.tensor([], [0.5]))
        switch form {
        case .pytorch, .multiplyBySqrtHalf:
            return builder.node("Mul", [builder.node("Mul", [x, onePlus]), half])
        case .halfInside:
            return builder.node("Mul", [x, builder.node("Mul", [onePlus, half])])
        case .halfFirst:
            return builder.node("Mul", [builder.node("Mul", [half, x]), onePlus])
        }
    }

    @Test(arguments: Form.allCases)
    func erfFormBecomesGelu(form: Form) throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [3, 17])
        let hidden = builder.node("MatMul", [x, builder.constant(PassTesting.random([17, 9], seed: 2))])
        builder.output(Self.gelu(&builder, hidden, form: form), as: "y")
        let (graph, fired) = try PassTesting.apply(FuseGeluPass(), to: builder.build())
        #expect(fired == 1)
        #expect(graph.operatorCounts == ["MatMul": 1, "Gelu": 1, "Identity": 1])
    }

    /// `x * 0.5 * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 x^3)))`, cube as Pow or as two products.
    @Test(arguments: [true, false])
    func tanhFormBecomesApproximateGelu(cubeAsPow: Bool) throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [3, 17])
        let cube = cubeAsPow
            ? builder.node("Pow", [x, builder.constant(PassTesting.tensor([], [3]))])
            : builder.node("Mul", [builder.node("Mul", [x, x]), x])
        let cubic = builder.node("Mul", [builder.constant(PassTesting.tensor([], [0.044715])), cube])
        let inner = builder.node("Add", [x, cubic])
        let scaled = builder.node("Mul", [inner, builder.constant(PassTesting.tensor([], [0.7978846]))])
        let onePlus = builder.node("Add", [builder.node("Tanh", [scaled]), builder.constant(PassTesting.tensor([], [1]))])
        let half = builder.node("Mul", [x, builder.constant(PassTesting.tensor([], [0.5]))])
        builder.output(builder.node("Mul", [half, onePlus]), as: "y")
        let (graph, fired) = try PassTesting.apply(FuseGeluPass(), to: builder.build())
        #expect(fired == 1)
        #expect(graph.operatorCounts == ["Gelu": 1, "Identity": 1])
        #expect(graph.nodes.first { $0.opType == "Gelu" }?.attributes["approximate"].map { "\($0)" } == "\"tanh\"")
    }

    @Test func wrongConstantIsLeftAlone() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [4])
        let erf = builder.node("Erf", [builder.node("Div", [x, builder.constant(PassTesting.tensor([], [2]))])])
        let onePlus = builder.node("Add", [erf, builder.constant(PassTesting.tensor([], [1]))])
        builder.output(builder.node("Mul", [builder.node("Mul", [x, onePlus]), builder.constant(PassTesting.tensor([], [0.5]))]), as: "y")
        let (_, fired) = try PassTesting.apply(FuseGeluPass(), to: builder.build())
        #expect(fired == 0)
    }
}

@Suite struct PassReshapeTransposeTests {
    private static func shape(_ values: [Int64]) -> Tensor { try! Tensor(shape: [values.count], scalars: values) }

    @Test func reshapeChainsCollapseAndNoOpsDisappear() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [2, 3, 4])
        let flat = builder.node("Reshape", [x, builder.constant(Self.shape([6, 4]))])
        let back = builder.node("Reshape", [flat, builder.constant(Self.shape([2, -1, 4]))])
        let same = builder.node("Reshape", [builder.node("Relu", [back]), builder.constant(Self.shape([2, 3, 4]))])
        builder.output(builder.node("Reshape", [same, builder.constant(Self.shape([4, 6]))]), as: "y")
        var graph = try builder.build()
        var totalFired = 0
        for _ in 0..<3 {
            let (rewritten, fired) = try PassTesting.apply(SimplifyReshapeTransposePass(), to: graph)
            graph = try DeadNodeEliminationPass().apply(to: rewritten)
            totalFired += fired
        }
        #expect(totalFired >= 3)
        #expect(graph.operatorCounts == ["Relu": 1, "Reshape": 1, "Identity": 1])
    }

    @Test func transposeChainsCompose() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [2, 3, 4, 5])
        let first = builder.node("Transpose", [x], attributes: ["perm": .ints([0, 2, 1, 3])])
        let second = builder.node("Transpose", [first], attributes: ["perm": .ints([3, 1, 0, 2])])
        let third = builder.node("Transpose", [builder.node("Relu", [second])], attributes: ["perm": .ints([0, 1, 2, 3])])
        builder.output(builder.node("Transpose", [third]), as: "y")  // default perm: reversed
        var graph = try builder.build()
        for _ in 0..<2 {
            graph = try DeadNodeEliminationPass().apply(to: PassTesting.apply(SimplifyReshapeTransposePass(), to: graph).graph)
        }
        #expect(graph.operatorCounts == ["Transpose": 2, "Relu": 1, "Identity": 1])
        let composed = try #require(graph.nodes.first { $0.opType == "Transpose" && $0.inputs == [x] })
        #expect(composed.attributes["perm"].map { "\($0)" } == "[3, 2, 0, 1]")
    }

    @Test func inverseTransposesCancel() throws {
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [2, 3, 4])
        let there = builder.node("Transpose", [x], attributes: ["perm": .ints([1, 2, 0])])
        let back = builder.node("Transpose", [there], attributes: ["perm": .ints([2, 0, 1])])
        builder.output(builder.node("Relu", [back]), as: "y")
        let graph = try PassPipeline([SimplifyReshapeTransposePass(), DeadNodeEliminationPass()]).optimized(builder.build())
        #expect(graph.operatorCounts == ["Relu": 1, "Identity": 1])
    }
}

extension GraphPass {
    /// Runs the pass on a copy.
    func apply(to graph: Graph) throws -> Graph {
        var copy = graph
        _ = try run(&copy)
        return copy
    }
}

extension PassPipeline {
    func optimized(_ graph: Graph) throws -> Graph {
        var copy = graph
        try run(&copy)
        return copy
    }
}
