@testable import Kiln
import Foundation
import Testing

/// Loading from a file (mapped): the tensor data section's checksum is computed by a helper thread
/// and then the caller while the graph is decoded and its types inferred
/// (`KilnFileReader.read(_:backing:finish:)`), and the model comes back only if it matched.
@Suite struct FormatMappedLoadTests {
    /// Floats in the large weight: five whole 1 MiB chunks and a partial sixth, so the checksum
    /// threads claim pairs and one single chunk.
    static let bigCount = 5 * (1 << 18) + 123

    /// A model whose data section spans several chunks, with a Reshape whose target shape is a
    /// weight: type inference reads that weight from the data section.
    static func model() throws -> Model {
        var builder = GraphBuilder(name: "chunks")
        let x = builder.input("x", .float32, [2, 3])
        let big = builder.constant(try Tensor(shape: [bigCount], scalars: (0..<bigCount).map { Float($0 % 977) }), name: "big")
        let shape = builder.constant(try Tensor(shape: [2], scalars: [3, 2] as [Int64]), name: "shape")
        builder.output(builder.node("Reshape", [x, shape]), as: "y")
        builder.output(builder.node("Identity", [big]), as: "big_out")
        return try Model(graph: builder.build())
    }

    /// Writes the model, lets `damage` change the file's bytes, and loads it back from disk.
    static func load(damage: (inout [UInt8]) throws -> Void = { _ in }) throws -> Model {
        let folder = try FormatFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.kiln")
        var bytes = try model().serialized()
        try damage(&bytes)
        try Data(bytes).write(to: url)
        return try Model(contentsOf: url)
    }

    /// The file's tensor data section.
    static func dataSection(_ bytes: [UInt8]) throws -> SectionEntry {
        try bytes.withUnsafeBytes { file in
            let header = try KilnFileReader.readHeader(file)
            let sections = try KilnFileReader.readSectionTable(file, header: header)
            return try #require(sections.first { $0.knownKind == .tensorData })
        }
    }

    @Test func loadsEveryChunkUnchanged() throws {
        let loaded = try Self.load()
        let big = try #require(loaded.graph.initializers["big"])
        #expect(big.isMemoryMapped)
        #expect(FormatFixtures.sameBytes(big, try #require(try Self.model().graph.initializers["big"])))
    }

    @Test func damageInTheLastChunkIsAChecksumMismatch() throws {
        #expect(throws: FormatError.checksumMismatch(section: "tensor data")) {
            try Self.load { bytes in
                let data = try Self.dataSection(bytes)
                try #require(data.length > 5 * XXH64.chunkSize)
                bytes[data.offset + data.length - 1] ^= 0x10
            }
        }
    }

    /// Rewrites the Reshape's target shape [3, 2] in the data section to [7, 7].
    static func damageShape(_ bytes: inout [UInt8]) throws {
        let data = try dataSection(bytes)
        let shape = [Int64(3), 2].flatMap { value in withUnsafeBytes(of: value.littleEndian, Array.init) }
        let section = Array(bytes[data.range])
        let starts = (0...(section.count - shape.count)).filter { section[$0..<($0 + shape.count)].elementsEqual(shape) }
        try #require(starts.count == 1)
        bytes[data.offset + starts[0]] = 7
        bytes[data.offset + starts[0] + 8] = 7
    }

    /// Type inference reads the Reshape's shape from the damaged data section while the checksum is
    /// still running; a shape of [7, 7] for 6 elements is a graph error, but the corruption is what
    /// is reported.
    @Test func damageThatBreaksInferenceIsStillAChecksumMismatch() throws {
        #expect(throws: FormatError.checksumMismatch(section: "tensor data")) {
            try Self.load { bytes in try Self.damageShape(&bytes) }
        }
        // The same damage under resealed checksums is the graph error.
        #expect(throws: GraphError.self) {
            try Self.load { bytes in
                try Self.damageShape(&bytes)
                KilnFileReader.resealChecksums(&bytes)
            }
        }
    }
}
