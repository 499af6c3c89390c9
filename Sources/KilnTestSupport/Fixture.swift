import Foundation
import Kiln

/// A model fixture: `Fixtures/<name>/model.kiln` with input and expected-output `.npy` files made by
/// `Scripts/python/make_fixtures.py` from ONNX Runtime (never from Kiln).
public struct Fixture: Sendable {
    /// The fixture's folder.
    public let directory: URL

    /// The repository's `Fixtures/` folder, found from this source file's location.
    public static let root: URL = URL(filePath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "Fixtures", directoryHint: .isDirectory)

    /// The fixture called `name` under ``root``.
    public init(_ name: String) {
        directory = Fixture.root.appending(path: name, directoryHint: .isDirectory)
    }

    public var modelURL: URL { directory.appending(path: "model.kiln") }

    /// Loads the `.kiln` model.
    public func model() throws -> Model { try Model(contentsOf: modelURL) }

    /// Reads every `.npy` in a subfolder (`inputs`, `expected`, `inputs_b1`, ...), keyed by file name
    /// without extension.
    public func tensors(in folder: String) throws -> [String: Tensor] {
        let url = directory.appending(path: folder, directoryHint: .isDirectory)
        let files = try FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)
        var tensors: [String: Tensor] = [:]
        for file in files where file.pathExtension == "npy" {
            tensors[file.deletingPathExtension().lastPathComponent] = try Tensor(npyContentsOf: file)
        }
        return tensors
    }

    /// Subfolder pairs of inputs and expected outputs present in this fixture, e.g.
    /// `("inputs", "expected")` and `("inputs_b1", "expected_b1")`.
    public func cases() throws -> [(inputs: String, expected: String)] {
        let entries = try FileManager.default.contentsOfDirectory(atPath: directory.path(percentEncoded: false))
        return entries.filter { $0.hasPrefix("inputs") }.sorted().compactMap { inputs in
            let expected = "expected" + inputs.dropFirst("inputs".count)
            return entries.contains(expected) ? (inputs, expected) : nil
        }
    }
}
