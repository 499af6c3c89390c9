import Foundation
import Kiln
import KilnONNX
import KilnTestSupport
import Testing

/// Every fixture's `model.onnx`, imported and run through ``PassPipeline/default`` as `kiln convert`
/// does, still matches ONNX Runtime's outputs at the fixture's tolerances.
@Suite struct PassPipelineFixtureTests {
    static let fixtures: [(name: String, rtol: Float, atol: Float)] = [
        ("mlp", 1e-4, 1e-5), ("cnn", 1e-4, 1e-5), ("encoder", 1e-4, 1e-4),
        ("zoo-mlp-mini", 1e-4, 1e-4), ("zoo-resnet-mini", 1e-4, 1e-4), ("zoo-mobilenet-mini", 1e-4, 1e-4),
        ("zoo-squeezenet-mini", 1e-4, 1e-4), ("zoo-bert-mini", 1e-4, 1e-4), ("zoo-minilm-mini", 1e-4, 1e-4),
    ]

    @Test(arguments: fixtures.map(\.name))
    func optimizedModelMatchesReference(name: String) throws {
        let tolerance = Self.fixtures.first { $0.name == name }!
        let fixture = Fixture(name)
        var (graph, _) = try ONNXImporter.importModel(contentsOf: fixture.directory.appending(path: "model.onnx"))
        let before = graph.nodes.count
        let fired = try PassPipeline.default.run(&graph)
        #expect(graph.nodes.count <= before)
        let session = try InferenceSession(model: Model(graph: graph), options: .init(threads: 2))
        for (inputsFolder, expectedFolder) in try fixture.cases() {
            let outputs = try session.run(fixture.tensors(in: inputsFolder))
            for (outputName, expected) in try fixture.tensors(in: expectedFolder) {
                let actual = try #require(outputs[outputName], "\(name): output \(outputName) missing")
                let comparison = Comparison.compare(actual, expected, rtol: tolerance.rtol, atol: tolerance.atol)
                #expect(comparison.isClose, "\(name)/\(expectedFolder)/\(outputName) after \(PassPipeline.summary(fired)): \(comparison)")
            }
        }
    }

    /// The fusions the fixtures are known to contain actually fire.
    @Test func expectedFusionsFire() throws {
        func optimizedCounts(_ name: String) throws -> (fired: [String: Int], ops: [String: Int]) {
            var (graph, _) = try ONNXImporter.importModel(contentsOf: Fixture(name).directory.appending(path: "model.onnx"))
            let fired = try PassPipeline.default.run(&graph)
            return (Dictionary(uniqueKeysWithValues: fired.map { ($0.name, $0.count) }), graph.operatorCounts)
        }
        let mlp = try optimizedCounts("mlp")
        #expect(mlp.ops == ["Gemm": 3])
        let squeezenet = try optimizedCounts("zoo-squeezenet-mini")
        #expect(squeezenet.ops["Relu"] == nil && squeezenet.ops["Identity"] == nil)
        let minilm = try optimizedCounts("zoo-minilm-mini")
        // Each layer's feed-forward Gelu (matched from its Erf form) ends up inside the MatMul before it,
        // with the bias.
        #expect(minilm.fired["fuse_gelu"] == 2 && minilm.ops["Gelu"] == nil && minilm.ops["Erf"] == nil)
        #expect((minilm.fired["fuse_activation"] ?? 0) >= 2 && (minilm.fired["matmul_add_to_gemm"] ?? 0) >= 12)
    }

    /// The PyTorch exports of BERT and all-MiniLM (symbolic batch and sequence), imported from ONNX:
    /// the attention fusion fires once per layer, leaving only the merge of the heads as a Transpose,
    /// and the outputs still match ONNX Runtime's (checked for every fixture above).
    @Test(arguments: ["zoo-bert-mini", "zoo-minilm-mini"])
    func attentionFusesEveryLayer(name: String) throws {
        var (graph, _) = try ONNXImporter.importModel(contentsOf: Fixture(name).directory.appending(path: "model.onnx"))
        #expect(graph.operatorCounts["Softmax"] == 2)
        try PassPipeline.default.run(&graph)
        #expect(graph.operatorCounts["KilnAttention"] == 2)
        #expect(graph.operatorCounts["Softmax"] == nil)
        #expect(graph.operatorCounts["Transpose"] == 2)
    }
}
