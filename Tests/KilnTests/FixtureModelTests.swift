import Foundation
import Kiln
import KilnTestSupport
import Testing

/// Runs each committed fixture model on its inputs and compares with the outputs ONNX Runtime
/// computed (and a float64 numpy implementation confirmed) in `Scripts/python/make_fixtures.py`.
@Suite struct FixtureModelTests {
    /// Fixture name and tolerances (rtol, atol) from the fixture's README.
    static let fixtures: [(name: String, rtol: Float, atol: Float)] = [
        ("mlp", 1e-4, 1e-5),
        ("cnn", 1e-4, 1e-5),
        // Attention sums many products whose outputs sit near zero; the README explains 1e-4.
        ("encoder", 1e-4, 1e-4),
        // Reduced-size PyTorch exports (Scripts/python/export_zoo.py); tolerances from manifest.json.
        ("zoo-mlp-mini", 1e-4, 1e-4),
        ("zoo-resnet-mini", 1e-4, 1e-4),
        ("zoo-mobilenet-mini", 1e-4, 1e-4),
        ("zoo-squeezenet-mini", 1e-4, 1e-4),
        ("zoo-bert-mini", 1e-4, 1e-4),
        ("zoo-minilm-mini", 1e-4, 1e-4),
    ]

    @Test(arguments: fixtures.map(\.name), [1, 2])
    func matchesReferenceOutputs(name: String, threads: Int) throws {
        let tolerance = Self.fixtures.first { $0.name == name }!
        let fixture = Fixture(name)
        let session = try InferenceSession(model: fixture.model(), options: .init(threads: threads))
        let cases = try fixture.cases()
        #expect(cases.count >= 2, "each fixture has at least two batch sizes")
        for (inputsFolder, expectedFolder) in cases {
            let outputs = try session.run(fixture.tensors(in: inputsFolder))
            for (outputName, expected) in try fixture.tensors(in: expectedFolder) {
                let actual = try #require(outputs[outputName], "\(name): output \(outputName) missing")
                let comparison = Comparison.compare(actual, expected, rtol: tolerance.rtol, atol: tolerance.atol)
                #expect(comparison.isClose, "\(name)/\(expectedFolder)/\(outputName): \(comparison)")
            }
        }
    }

    @Test func loadedWeightsAreMemoryMapped() throws {
        let model = try Fixture("mlp").model()
        #expect(!model.graph.initializers.isEmpty)
        #expect(model.graph.initializers.values.allSatisfy { $0.isMemoryMapped })
    }

    /// The README's snippet, compiled and run against the CNN fixture.
    @Test func readmeSnippetRuns() throws {
        let pixels = try Fixture("cnn").tensors(in: "inputs_b1")["image"]!.scalars(as: Float.self)
        let model = try Model(contentsOf: Fixture("cnn").modelURL)   // mapped, checksums verified
        let session = try InferenceSession(model: model, options: .init(threads: 2))
        let image = try Tensor(shape: [1, 3, 32, 32], scalars: pixels)
        let outputs = try session.run(["image": image])
        let logits: [Float] = try outputs["logits"]!.scalars(as: Float.self)
        #expect(logits.count == 10)
    }
}
