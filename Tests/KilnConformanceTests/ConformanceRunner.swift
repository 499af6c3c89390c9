import Foundation
import Kiln
import KilnONNX
import KilnTestSupport

/// One ONNX backend node test as written by `Scripts/generate-conformance.py`.
struct ConformanceCase: Decodable {
    struct Value: Decodable {
        let name: String
        let file: String
    }
    let name: String
    /// The op type the test is about (an `_expanded` test belongs to the op it expands).
    let `operator`: String?
    let opset: Int?
    let rtol: Float
    let atol: Float
    let inputs: [Value]
    let outputs: [Value]
}

/// What happened to one test.
enum ConformanceOutcome: Equatable {
    case passed
    /// Kiln ran the model and got a different answer or an error while running.
    case failed(String)
    /// The model uses something Kiln does not support (reported at import).
    case unsupported(String)

    var label: String {
        switch self {
        case .passed: return "passed"
        case .failed: return "failed"
        case .unsupported: return "unsupported"
        }
    }

    var reason: String {
        switch self {
        case .passed: return ""
        case .failed(let reason), .unsupported(let reason): return reason
        }
    }
}

/// Runs ONNX node tests through the importer and a session and compares at the tests' tolerances.
enum ConformanceRunner {
    static let repository = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let root = repository.appending(path: "Conformance/node", directoryHint: .isDirectory)
    static let expectedPassList = repository.appending(path: "Tests/KilnConformanceTests/expected-pass.txt")
    static let report = repository.appending(path: ".build/conformance-report.json")

    static var isAvailable: Bool { FileManager.default.fileExists(atPath: root.appending(path: "skipped.txt").path) }

    /// Every test folder, sorted by name.
    static func caseFolders() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: [.isDirectoryKey])
            .filter { (try? $0.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    static func load(_ folder: URL) throws -> ConformanceCase {
        try JSONDecoder().decode(ConformanceCase.self, from: Data(contentsOf: folder.appending(path: "test.json")))
    }

    static func run(_ test: ConformanceCase, in folder: URL) -> ConformanceOutcome {
        let model: Model
        do {
            let imported = try ONNXImporter.importModel(contentsOf: folder.appending(path: "model.onnx"))
            model = try Model(graph: imported.graph, metadata: imported.metadata)
        } catch {
            return .unsupported("\(error)")
        }
        do {
            var feeds: [String: Tensor] = [:]
            for input in test.inputs {
                feeds[input.name] = try Tensor(npyContentsOf: folder.appending(path: input.file))
            }
            let session = try InferenceSession(model: model, options: .init(threads: 1))
            let outputs = try session.run(feeds)
            for expectedValue in test.outputs {
                let expected = try Tensor(npyContentsOf: folder.appending(path: expectedValue.file))
                guard let actual = outputs[expectedValue.name] else {
                    return .failed("output '\(expectedValue.name)' missing")
                }
                if let mismatch = compare(actual, expected, rtol: test.rtol, atol: test.atol) {
                    return .failed("output '\(expectedValue.name)': \(mismatch)")
                }
            }
            return .passed
        } catch {
            return .failed("\(error)")
        }
    }

    /// nil when equal within tolerance (floats) or exactly (integers, bool); else what differs.
    static func compare(_ actual: Tensor, _ expected: Tensor, rtol: Float, atol: Float) -> String? {
        guard actual.dtype == expected.dtype else { return "dtype \(actual.dtype), expected \(expected.dtype)" }
        guard actual.shape == expected.shape else { return "shape \(actual.shape), expected \(expected.shape)" }
        if actual.dtype.isFloatingPoint {
            let comparison = Comparison.compare(actual, expected, rtol: rtol, atol: atol)
            return comparison.isClose ? nil : comparison.description
        }
        let a = actual.int64s(), e = expected.int64s()
        guard let index = a.indices.first(where: { a[$0] != e[$0] }) else { return nil }
        return "element \(index) is \(a[index]), expected \(e[index])"
    }
}
