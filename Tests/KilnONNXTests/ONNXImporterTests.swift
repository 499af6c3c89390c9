import Foundation
import Kiln
import KilnONNX
import Testing

/// The public entry points, end to end with the operators every branch has (Relu, Identity).
@Suite struct ONNXImporterTests {
    typealias F = ONNXFixtures

    @Test func importsAndRunsReluModel() throws {
        var proto = F.reluModel()
        proto.producerName = "unit-test"
        let (graph, metadata) = try ONNXImporter.importModel(data: proto.data())
        #expect(graph.inputs == [ValueInfo("x", .float32, ["batch", 3])])
        #expect(graph.outputs == [ValueInfo("y", .float32, ["batch", 3])])
        #expect(metadata.producerName == "unit-test")
        let session = try InferenceSession(model: Model(graph: graph, metadata: metadata), options: .init(threads: 1))
        let x = try Tensor(shape: [2, 3], scalars: [-1, 2, -3, 4, -5, 6] as [Float])
        #expect(try session.run(["x": x])["y"]?.scalars(as: Float.self) == [0, 2, 0, 4, 0, 6])
    }

    @Test func importsConstantsAndInitializerInputsEndToEnd() throws {
        // y = Relu(c) with c from a Constant node; z = Identity(w) where w is both input and initializer.
        let constant = F.node("Constant", [], ["c"], name: "const",
                              attributes: [F.attribute("value_floats") { $0.type = .floats; $0.floats = [-2, 3] }])
        let proto = F.model(
            nodes: [constant, F.node("Relu", ["c"], ["y"], name: "relu"), F.node("Identity", ["w"], ["z"], name: "id")],
            inputs: [F.valueInfo("w", .int64, [F.dim(2)])],
            outputs: [F.valueInfo("y", .float, [F.dim(2)]), F.valueInfo("z", .int64, [F.dim(2)])],
            initializers: [F.rawTensor("w", .int64, dims: [2], [10, -20] as [Int64])])
        let (graph, _) = try ONNXImporter.importModel(data: proto.data())
        #expect(graph.inputs.isEmpty)
        let outputs = try InferenceSession(model: Model(graph: graph), options: .init(threads: 1)).run([:])
        #expect(try outputs["y"]?.scalars(as: Float.self) == [0, 3])
        #expect(try outputs["z"]?.scalars(as: Int64.self) == [10, -20])
    }

    @Test func listsEveryUnsupportedOperatorWithCountAndFirstNode() throws {
        let proto = F.model(
            nodes: [
                F.node("Relu", ["x"], ["a"], name: "relu"),
                F.node("GRU", ["a", "w"], ["b"], name: "gru1"),
                F.node("LSTM", ["b"], ["c"]),
                F.node("GRU", ["c", "w"], ["d"], name: "gru2"),
                F.node("Fancy", ["d"], ["e"], name: "fancy", domain: "com.example"),
                F.node("GRU", ["e", "w"], ["y"], name: "gru3"),
            ],
            inputs: [F.valueInfo("x", .float, [F.dim(1), F.dim(1), F.dim(4), F.dim(4)])],
            outputs: [F.valueInfo("y", .float, nil)],
            initializers: [F.floatTensor("w", dims: [1, 1, 1, 1], [1])])
        let expected = ONNXImportError.unsupportedOperators([
            UnsupportedOperator(opType: "GRU", domain: "", count: 3, firstNode: "gru1"),
            UnsupportedOperator(opType: "LSTM", domain: "", count: 1, firstNode: "LSTM_2"),
            UnsupportedOperator(opType: "Fancy", domain: "com.example", count: 1, firstNode: "fancy"),
        ])
        #expect(throws: expected) { try ONNXImporter.importModel(data: proto.data()) }
        #expect(expected.description == "the model uses 3 operator types Kiln does not support: "
            + "GRU (3 nodes, first 'gru1'); LSTM (1 node, first 'LSTM_2'); com.example.Fancy (1 node, first 'fancy')")
    }

    @Test func reportsUnsupportedOperatorBeforeItsSubgraph() throws {
        let branch = F.attribute("body") { $0.type = .graph; $0.g = Onnx_GraphProto() }
        let proto = F.model(nodes: [F.node("Loop", ["n", "c"], ["y"], name: "loop", attributes: [branch])],
                            inputs: [F.valueInfo("n", .int64, []), F.valueInfo("c", .bool, [])],
                            outputs: [F.valueInfo("y", .float, nil)])
        #expect(throws: ONNXImportError.unsupportedOperators([
            UnsupportedOperator(opType: "Loop", domain: "", count: 1, firstNode: "loop"),
        ])) { try ONNXImporter.importModel(data: proto.data()) }
    }

    @Test func surfacesGraphErrorsWithNodeNames() throws {
        let dangling = F.model(nodes: [F.node("Relu", ["missing"], ["y"], name: "relu")],
                               inputs: [], outputs: [F.valueInfo("y", .float, nil)])
        #expect(throws: ONNXImportError.invalidGraph(.undefinedValue(name: "missing", usedBy: "relu"))) {
            try ONNXImporter.importModel(data: dangling.data())
        }
        // Sqrt rejects bool during type inference; the error names the node.
        let wrongType = F.model(nodes: [F.node("Sqrt", ["x"], ["y"], name: "sqrt")],
                                inputs: [F.valueInfo("x", .bool, [F.dim(2)])], outputs: [F.valueInfo("y", .bool, nil)])
        guard case .invalidGraph(.invalidNode(let node, let opType, _))? = importError({
            try ONNXImporter.importModel(data: wrongType.data())
        }) else {
            Issue.record("expected invalidGraph(invalidNode)")
            return
        }
        #expect(node == "sqrt")
        #expect(opType == "Sqrt")
    }

    @Test func rejectsGarbageBytes() {
        // Field 1 with wire type 7, which does not exist.
        #expect(importError { try ONNXImporter.importModel(data: Data([0x0F, 0x01, 0x02])) }?.caseName == "malformedModel")
        // A length prefix promising more bytes than follow.
        #expect(importError { try ONNXImporter.importModel(data: Data([0x3A, 0x7F, 0x00])) }?.caseName == "malformedModel")
        #expect(throws: ONNXImportError.missingGraph) { try ONNXImporter.importModel(data: Data()) }
    }

    @Test func rejectsEveryTruncationOfAValidModelWithATypedError() throws {
        var proto = F.reluModel()
        proto.graph.initializer = [F.floatTensor("unused", dims: [3], [1, 2, 3])]
        proto.docString = "padding so that the truncations cut through strings too"
        let bytes = try proto.data()
        var failures = 0
        for length in 0..<bytes.count {
            // A cut that falls between fields is a valid, smaller message; anything else must fail
            // with an ONNXImportError (typed throws guarantee the type; this pins "no crash").
            do {
                _ = try ONNXImporter.importModel(data: bytes.prefix(length))
            } catch {
                failures += 1
            }
        }
        #expect(failures > bytes.count / 2)
        #expect(importError { try ONNXImporter.importModel(data: bytes.prefix(bytes.count - 3)) } != nil)
    }

    @Test func survivesRandomBytes() {
        var generator = SplitMix64(seed: 0x5EED)
        for _ in 0..<500 {
            let count = Int(generator.next() % 64)
            let data = Data((0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
            _ = importError { try ONNXImporter.importModel(data: data) }
        }
    }

    @Test func reportsUnreadableFiles() {
        let url = URL(fileURLWithPath: "/nonexistent/kiln/model.onnx")
        #expect(importError { try ONNXImporter.importModel(contentsOf: url) }?.caseName == "unreadableFile")
    }

    @Test func errorMessagesNameWhatWasWrong() {
        #expect(ONNXImportError.unsupportedDataType(tensor: "w", type: "DOUBLE").description
            == "'w' has element type DOUBLE, which Kiln does not support")
        #expect(ONNXImportError.unsupportedOpset(version: 5, supported: 7...28).description
            == "the model uses ONNX opset 5; Kiln supports opsets 7 to 28")
        #expect(ONNXImportError.invalidGraph(.undefinedValue(name: "v", usedBy: "n")).description
            == "the imported graph is invalid: node 'n' uses value 'v', which nothing produces")
    }
}

/// A small deterministic generator so the random-bytes test is reproducible.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
