import Foundation
import Kiln
import KilnONNX
import Testing

@Suite struct ExternalDataTests {
    typealias F = ONNXFixtures

    /// A float tensor whose bytes live in `location` at `offset`/`length`.
    static func externalTensor(_ name: String, dims: [Int64], location: String?, offset: String? = nil,
                               length: String? = nil) -> Onnx_TensorProto {
        var proto = F.tensor(name, .float, dims: dims)
        proto.dataLocation = .external
        for (key, value) in [("location", location), ("offset", offset), ("length", length)] {
            guard let value else { continue }
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            proto.externalData.append(entry)
        }
        return proto
    }

    static func floatBytes(_ values: [Float]) -> Data { values.withUnsafeBytes { Data($0) } }

    /// A folder with `weights.bin` = floats 0, 1, ..., 9.
    static func folderWithWeights() throws -> URL {
        let folder = try F.temporaryDirectory()
        try floatBytes((0..<10).map(Float.init)).write(to: folder.appendingPathComponent("weights.bin"))
        return folder
    }

    @Test func readsTensorAtOffsetAndLength() throws {
        let folder = try Self.folderWithWeights()
        defer { try? FileManager.default.removeItem(at: folder) }
        let proto = Self.externalTensor("w", dims: [2, 2], location: "weights.bin", offset: "8", length: "16")
        let tensor = try F.decode(proto, baseDirectory: folder)
        #expect(tensor.shape == [2, 2])
        #expect(try tensor.scalars(as: Float.self) == [2, 3, 4, 5])
    }

    @Test func readsToTheEndOfTheFileWithoutLength() throws {
        let folder = try Self.folderWithWeights()
        defer { try? FileManager.default.removeItem(at: folder) }
        let proto = Self.externalTensor("w", dims: [3], location: "weights.bin", offset: "28")
        #expect(try F.decode(proto, baseDirectory: folder).scalars(as: Float.self) == [7, 8, 9])
    }

    @Test func readsFromSubfolders() throws {
        let folder = try F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let sub = folder.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        try Self.floatBytes([6, 7]).write(to: sub.appendingPathComponent("w.bin"))
        let proto = Self.externalTensor("w", dims: [2], location: "data/w.bin")
        #expect(try F.decode(proto, baseDirectory: folder).scalars(as: Float.self) == [6, 7])
    }

    @Test func rejectsTensorWithoutLengthWhenTheFileHasMore() throws {
        let folder = try Self.folderWithWeights()
        defer { try? FileManager.default.removeItem(at: folder) }
        let proto = Self.externalTensor("w", dims: [2], location: "weights.bin")
        #expect(importError { try F.decode(proto, baseDirectory: folder) }?.caseName == "invalidExternalData")
    }

    @Test func rejectsRangesBeyondTheEndOfTheFile() throws {
        let folder = try Self.folderWithWeights()
        defer { try? FileManager.default.removeItem(at: folder) }
        let pastEnd = Self.externalTensor("w", dims: [4], location: "weights.bin", offset: "32", length: "16")
        #expect(throws: ONNXImportError.invalidExternalData(
            tensor: "w", reason: "bytes 32..<48 lie outside 'weights.bin' (40 bytes)")) {
            try F.decode(pastEnd, baseDirectory: folder)
        }
        let hugeOffset = Self.externalTensor("w", dims: [1], location: "weights.bin", offset: "9223372036854775807")
        #expect(importError { try F.decode(hugeOffset, baseDirectory: folder) }?.caseName == "invalidExternalData")
        let hugeDims = Self.externalTensor("w", dims: [1 << 40], location: "weights.bin")
        #expect(importError { try F.decode(hugeDims, baseDirectory: folder) }?.caseName == "invalidExternalData")
    }

    @Test func rejectsLengthThatDisagreesWithTheDims() throws {
        let folder = try Self.folderWithWeights()
        defer { try? FileManager.default.removeItem(at: folder) }
        let proto = Self.externalTensor("w", dims: [2], location: "weights.bin", length: "12")
        #expect(throws: ONNXImportError.invalidExternalData(
            tensor: "w", reason: "length is 12 bytes, but the tensor's dims need 8")) {
            try F.decode(proto, baseDirectory: folder)
        }
    }

    @Test func rejectsMalformedOffsets() throws {
        let folder = try Self.folderWithWeights()
        defer { try? FileManager.default.removeItem(at: folder) }
        for offset in ["-4", "+4", "4x", "", "99999999999999999999999"] {
            let proto = Self.externalTensor("w", dims: [1], location: "weights.bin", offset: offset, length: "4")
            #expect(importError { try F.decode(proto, baseDirectory: folder) }?.caseName == "invalidExternalData",
                    "offset '\(offset)'")
        }
    }

    @Test func rejectsLocationsOutsideTheModelFolder() throws {
        let outer = try F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: outer) }
        let modelFolder = outer.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: modelFolder, withIntermediateDirectories: true)
        let secret = outer.appendingPathComponent("secret.bin")
        try Self.floatBytes([1]).write(to: secret)
        try FileManager.default.createSymbolicLink(
            at: modelFolder.appendingPathComponent("link.bin"), withDestinationURL: secret)

        let cases = [
            ("../secret.bin", "location '../secret.bin' leaves the model's folder"),
            ("sub/../../secret.bin", "location 'sub/../../secret.bin' leaves the model's folder"),
            (secret.path, "location '\(secret.path)' is an absolute path"),
            ("link.bin", "location 'link.bin' leads outside the model's folder"),
        ]
        for (location, reason) in cases {
            let proto = Self.externalTensor("w", dims: [1], location: location)
            #expect(throws: ONNXImportError.invalidExternalData(tensor: "w", reason: reason)) {
                try F.decode(proto, baseDirectory: modelFolder)
            }
        }
    }

    @Test func followsSymbolicLinksThatStayInsideTheModelFolder() throws {
        let folder = try Self.folderWithWeights()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createSymbolicLink(
            at: folder.appendingPathComponent("alias.bin"), withDestinationURL: folder.appendingPathComponent("weights.bin"))
        let proto = Self.externalTensor("w", dims: [1], location: "alias.bin", offset: "4", length: "4")
        #expect(try F.decode(proto, baseDirectory: folder).scalars(as: Float.self) == [1])
    }

    @Test func rejectsMissingFilesFoldersAndLocations() throws {
        let folder = try Self.folderWithWeights()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("dir"), withIntermediateDirectories: true)
        #expect(throws: ONNXImportError.invalidExternalData(
            tensor: "w", reason: "file 'absent.bin' does not exist next to the model")) {
            try F.decode(Self.externalTensor("w", dims: [1], location: "absent.bin"), baseDirectory: folder)
        }
        #expect(throws: ONNXImportError.invalidExternalData(tensor: "w", reason: "'dir' is not a regular file")) {
            try F.decode(Self.externalTensor("w", dims: [1], location: "dir"), baseDirectory: folder)
        }
        #expect(throws: ONNXImportError.invalidExternalData(tensor: "w", reason: "no location is given")) {
            try F.decode(Self.externalTensor("w", dims: [1], location: nil, offset: "0"), baseDirectory: folder)
        }
    }

    @Test func needsABaseDirectory() {
        let proto = Self.externalTensor("w", dims: [1], location: "weights.bin")
        #expect(importError { try F.decode(proto, baseDirectory: nil) }?.caseName == "invalidExternalData")
    }

    @Test func rejectsExternalTensorThatAlsoCarriesData() throws {
        let folder = try Self.folderWithWeights()
        defer { try? FileManager.default.removeItem(at: folder) }
        var proto = Self.externalTensor("w", dims: [1], location: "weights.bin", length: "4")
        proto.floatData = [1]
        #expect(importError { try F.decode(proto, baseDirectory: folder) }?.caseName == "invalidTensor")
    }

    @Test func importsModelFileWithExternalWeightsEndToEnd() throws {
        let folder = try F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.floatBytes([-1, 2, -3]).write(to: folder.appendingPathComponent("model.data"))
        // y = Relu(w); w lives in model.data.
        let model = F.model(
            nodes: [F.node("Relu", ["w"], ["y"], name: "relu")],
            inputs: [], outputs: [F.valueInfo("y", .float, [F.dim(3)])],
            initializers: [Self.externalTensor("w", dims: [3], location: "model.data", offset: "0", length: "12")])
        let file = folder.appendingPathComponent("model.onnx")
        try model.data().write(to: file)

        let (graph, _) = try ONNXImporter.importModel(contentsOf: file)
        #expect(try graph.initializers["w"]?.scalars(as: Float.self) == [-1, 2, -3])
        let session = try InferenceSession(model: Model(graph: graph), options: .init(threads: 1))
        #expect(try session.run([:])["y"]?.scalars(as: Float.self) == [0, 2, 0])
    }
}
