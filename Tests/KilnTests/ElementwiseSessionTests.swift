import Foundation
import Kiln
import KilnTestSupport
import Testing

/// Elementwise operators inside whole graphs: built with `GraphBuilder`, typed by graph inference,
/// run by `InferenceSession`.
@Suite struct ElementwiseSessionTests {
    @Test func everyElementwiseOperatorIsRegistered() {
        let expected = [
            "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Neg", "Abs", "Sign", "Sqrt", "Reciprocal",
            "Exp", "Log", "Sin", "Cos", "Erf", "Floor", "Ceil", "Round", "Relu", "LeakyRelu", "PRelu", "Elu", "Selu",
            "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Gelu", "Softplus", "Softsign", "Mish", "Equal", "Less",
            "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "Where", "Clip", "Cast", "CastLike", "Mod",
        ]
        for opType in expected {
            #expect(OperatorRegistry.lookup(opType: opType, domain: "") != nil, "\(opType) is not registered")
        }
    }

    /// A transformer-style block: (x + bias) * scale -> Gelu -> masked fill -> Clip, with a symbolic
    /// batch dim, compared element by element with the same math done by hand in Double.
    @Test func runsAnActivationBlockWithBroadcasts() throws {
        var builder = GraphBuilder(name: "block")
        let x = builder.input("x", .float32, ["batch", 4])
        let mask = builder.input("mask", .bool, [1, 4])
        let bias = builder.constant(try Tensor(shape: [4], scalars: [0.5, -0.5, 1, -1] as [Float]))
        let scale = builder.constant(Tensor(scalar: Float(2)))
        let shifted = builder.node("Add", [x, bias])
        let scaled = builder.node("Mul", [shifted, scale])
        let activated = builder.node("Gelu", [scaled])
        let fill = builder.constant(Tensor(scalar: Float(-100)))
        let masked = builder.node("Where", [mask, activated, fill])
        let low = builder.constant(Tensor(scalar: Float(-1)))
        let high = builder.constant(Tensor(scalar: Float(3)))
        builder.output(builder.node("Clip", [masked, low, high]), as: "y")
        let graph = try builder.build()
        #expect(graph.outputs[0].type == TensorType(.float32, ["batch", 4]))

        let session = try InferenceSession(model: Model(graph: graph), options: .init(threads: 2))
        let input: [Float] = [-2, -1, 0, 1, 2, 3, -0.25, 0.75]
        let maskValues = [true, true, false, true]
        let outputs = try session.run([
            "x": try Tensor(shape: [2, 4], scalars: input),
            "mask": try Tensor(shape: [1, 4], scalars: maskValues),
        ])
        let biasValues: [Double] = [0.5, -0.5, 1, -1]
        let expected = input.enumerated().map { index, value -> Float in
            guard maskValues[index % 4] else { return -1 }
            let z = (Double(value) + biasValues[index % 4]) * 2
            let gelu = 0.5 * z * (1 + erf(z / 2.0.squareRoot()))
            return Float(min(max(gelu, -1), 3))
        }
        let comparison = Comparison.compare(try #require(outputs["y"]), try Tensor(shape: [2, 4], scalars: expected),
                                            rtol: 1e-6, atol: 1e-6)
        #expect(comparison.isClose, "\(comparison)")
    }

    /// The int64 shape arithmetic PyTorch exports: size / 2 * 2 == size, Cast, Where.
    @Test func runsInt64ShapeArithmetic() throws {
        var builder = GraphBuilder(name: "shapes")
        let sizes = builder.input("sizes", .int64, ["n"])
        let two = builder.constant(Tensor(scalar: Int64(2)))
        let halved = builder.node("Div", [sizes, two])
        let doubled = builder.node("Mul", [halved, two])
        let even = builder.node("Equal", [doubled, sizes])
        let asFloat = builder.node("Cast", [sizes], attributes: ["to": .int(DType.float32.onnxCode)])
        let negated = builder.node("Neg", [asFloat])
        builder.output(builder.node("Where", [even, halved, builder.node("Sub", [sizes, two])]), as: "picked")
        builder.output(negated, as: "negated")
        let graph = try builder.build()
        #expect(graph.outputs[0].type == TensorType(.int64, ["n"]))
        #expect(graph.outputs[1].type == TensorType(.float32, ["n"]))

        let session = try InferenceSession(model: Model(graph: graph), options: .init(threads: 1))
        let outputs = try session.run(["sizes": try Tensor(shape: [5], scalars: [4, 7, -7, 10, -3] as [Int64])])
        // Even sizes halve (C-style truncation), odd ones subtract 2.
        #expect(try outputs["picked"]?.scalars(as: Int64.self) == [2, 5, -9, 5, -5])
        #expect(try outputs["negated"]?.scalars(as: Float.self) == [-4, -7, 7, -10, 3])
    }

    @Test func constantSubgraphsFoldDuringInference() throws {
        var builder = GraphBuilder(name: "folding")
        let x = builder.input("x", .float32, [3])
        let exponent = builder.node("Exp", [builder.constant(Tensor(scalar: Float(0)))])  // folds to 1
        let doubled = builder.node("Add", [exponent, exponent])
        builder.output(builder.node("Mul", [x, doubled]), as: "y")
        let session = try InferenceSession(model: Model(graph: builder.build()), options: .init(threads: 1))
        let y = try session.run(["x": try Tensor(shape: [3], scalars: [1, 2, 3] as [Float])])["y"]
        #expect(try y?.scalars(as: Float.self) == [2, 4, 6])
    }

    @Test func reportsNonBroadcastableGraphsAtBuildTime() throws {
        var builder = GraphBuilder(name: "bad")
        let a = builder.input("a", .float32, ["batch", 3])
        let b = builder.input("b", .float32, [4])
        builder.output(builder.node("Add", [a, b], name: "bad_add"), as: "y")
        #expect(throws: GraphError.invalidNode(node: "bad_add", opType: "Add",
                                               reason: "input shapes [batch, 3], [4] do not broadcast")) {
            try builder.build()
        }
    }

    @Test func reportsKernelFailuresWithTheNodeName() throws {
        var builder = GraphBuilder(name: "division")
        let a = builder.input("a", .int64, [2])
        let b = builder.input("b", .int64, [2])
        builder.output(builder.node("Div", [a, b], name: "divide"), as: "y")
        let session = try InferenceSession(model: Model(graph: builder.build()), options: .init(threads: 1))
        let error = #expect(throws: SessionError.self) {
            try session.run(["a": try Tensor(shape: [2], scalars: [1, 2] as [Int64]),
                             "b": try Tensor(shape: [2], scalars: [1, 0] as [Int64])])
        }
        guard case .kernelFailed(let node, let opType, let reason)? = error else {
            Issue.record("expected kernelFailed, got \(String(describing: error))")
            return
        }
        #expect(node == "divide" && opType == "Div" && reason.contains("division by zero"))
    }

    @Test func symbolicBroadcastMismatchFailsAtRunTime() throws {
        var builder = GraphBuilder(name: "runtime")
        let a = builder.input("a", .float32, ["n"])
        let b = builder.input("b", .float32, ["m"])
        builder.output(builder.node("Add", [a, b], name: "add"), as: "y")
        let session = try InferenceSession(model: Model(graph: builder.build()), options: .init(threads: 1))
        let ok = try session.run(["a": try Tensor(shape: [3], scalars: [1, 2, 3] as [Float]),
                                  "b": try Tensor(shape: [1], scalars: [10] as [Float])])
        #expect(try ok["y"]?.scalars(as: Float.self) == [11, 12, 13])
        #expect(throws: SessionError.self) {
            try session.run(["a": try Tensor(shape: [3], scalars: [1, 2, 3] as [Float]),
                             "b": try Tensor(shape: [2], scalars: [1, 2] as [Float])])
        }
    }
}
