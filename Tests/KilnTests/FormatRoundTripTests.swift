@testable import Kiln
import Foundation
import Testing

@Suite struct FormatRoundTripTests {
    @Test func roundTripPreservesEveryAttributeKindAndDType() throws {
        let original = try FormatFixtures.sampleModel()
        let loaded = try Model(data: try original.serialized())

        #expect(loaded.metadata == original.metadata)
        let (a, b) = (original.graph, loaded.graph)
        #expect(b.name == a.name)
        #expect(b.opsetImports == a.opsetImports)
        #expect(b.inputs == a.inputs)
        #expect(b.inputs[1].type.shape == nil)
        #expect(b.outputs == a.outputs)
        #expect(b.valueTypes == a.valueTypes)
        #expect(Set(b.initializers.keys) == Set(a.initializers.keys))
        for (name, tensor) in a.initializers {
            let copy = try #require(b.initializers[name])
            #expect(FormatFixtures.sameBytes(tensor, copy), "initializer \(name)")
            #expect(!copy.isMemoryMapped)
        }
        #expect(b.nodes.count == a.nodes.count)
        for (left, right) in zip(a.nodes, b.nodes) {
            #expect(right.name == left.name && right.opType == left.opType && right.domain == left.domain)
            #expect(right.inputs == left.inputs && right.outputs == left.outputs)
            #expect(Set(right.attributes.keys) == Set(left.attributes.keys))
            for (key, value) in left.attributes {
                let other = try #require(right.attributes[key])
                #expect(FormatFixtures.sameAttribute(value, other), "attribute \(key) of \(left.name)")
            }
        }
        #expect(a.nodes.first { $0.name == "relu" }?.attributes.count == 9)
    }

    @Test func loadedModelComputesIdenticalOutputs() throws {
        let original = try FormatFixtures.sampleModel()
        let folder = try FormatFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("sample.kiln")
        try original.write(to: url)
        let inputs = try FormatFixtures.sampleInputs()
        let expected = try InferenceSession(model: original, options: .init(threads: 1)).run(inputs)
        for loaded in [try Model(contentsOf: url), try Model(data: try original.serialized())] {
            let outputs = try InferenceSession(model: loaded, options: .init(threads: 1)).run(inputs)
            #expect(Set(outputs.keys) == Set(expected.keys))
            for (name, tensor) in expected {
                #expect(FormatFixtures.sameBytes(tensor, try #require(outputs[name])), "output \(name)")
            }
        }
        #expect(try expected["y"]?.scalars(as: Float.self) == [0, 2, 0, 4, 0, 0])
        #expect(try expected["out int64"]?.scalars(as: Int64.self) == [Int64.min, Int64.max])
    }

    /// Weights of a mapped file are used in place: borrowed, 64-byte aligned and inside the file's
    /// mapping as listed by the kernel in /proc/self/maps.
    @Test func mappedWeightsAreZeroCopy() throws {
        let original = try FormatFixtures.sampleModel()
        let folder = try FormatFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("mapped.kiln")
        try original.write(to: url)
        let model = try Model(contentsOf: url)
        // /proc files report size 0, so read them to the end rather than by size.
        let maps = try #require(FileHandle(forReadingAtPath: "/proc/self/maps")).readDataToEndOfFile()
        let mappings = String(decoding: maps, as: UTF8.self)
            .split(separator: "\n").filter { $0.hasSuffix(url.path) }
            .compactMap { line -> Range<UInt>? in
                let bounds = line.split(separator: " ")[0].split(separator: "-")
                guard let low = UInt(bounds[0], radix: 16), let high = UInt(bounds[1], radix: 16) else { return nil }
                return low..<high
            }
        #expect(!mappings.isEmpty)
        let fileBytes = try [UInt8](Data(contentsOf: url))
        for (name, tensor) in model.graph.initializers {
            #expect(tensor.isMemoryMapped, "initializer \(name)")
            let address = tensor.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
            #expect(address % 64 == 0, "initializer \(name) is not 64-byte aligned")
            #expect(mappings.contains { $0.contains(address) }, "initializer \(name) is outside the file mapping")
        }
        // The first tensor sits at the start of the data section: a page boundary of the mapping.
        let first = try #require(model.graph.initializers["bool"])  // sorted first by name
        #expect(first.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) } % 4096 == 0)
        #expect(fileBytes == (try original.serialized()))
    }

    /// The mapping lives exactly as long as some tensor borrowed from it.
    @Test func mappingOutlivesTheModelAndEndsWithItsLastTensor() throws {
        let folder = try FormatFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("lifetime.kiln")
        try FormatFixtures.sampleModel().write(to: url)
        func isMapped() throws -> Bool {
            let maps = try #require(FileHandle(forReadingAtPath: "/proc/self/maps")).readDataToEndOfFile()
            return String(decoding: maps, as: UTF8.self).contains(url.path)
        }
        var weight: Tensor? = try Model(contentsOf: url).graph.initializers["int64"]
        #expect(try isMapped())
        #expect(try weight?.scalars(as: Int64.self) == [Int64.min, Int64.max])
        weight = nil
        #expect(try !isMapped())
    }

    @Test func serializationIsDeterministic() throws {
        let first = try FormatFixtures.sampleModel().serialized()
        let second = try FormatFixtures.sampleModel().serialized()
        #expect(first == second)
        #expect(try Model(data: first).serialized() == first)
    }

    /// The header fields at the offsets Docs/FORMAT.md gives, read by hand.
    @Test func headerMatchesTheSpecification() throws {
        let bytes = try FormatFixtures.sampleModel().serialized()
        func u64(_ offset: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) } }
        func u32(_ offset: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) } }
        #expect(Array(bytes[0..<8]) == [0x89, 0x4B, 0x4C, 0x4E, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(bytes[8] == 1 && bytes[9] == 0 && bytes[10] == 2 && bytes[11] == 0)  // version 1.2
        #expect(u32(12) == 0)  // flags: no weights in a kernel's layout
        #expect(u64(16) == UInt64(bytes.count))
        #expect(u64(24) == 64)  // table offset
        #expect(u32(32) == 3)  // sections
        #expect(u32(36) == 0 && u64(48) == 0)
        #expect(u64(56) == XXH64.hash(Array(bytes[0..<56])))
        #expect(u64(40) == XXH64.hash(Array(bytes[64..<(64 + 96)])))
        // Table entries: kinds 1, 2, 3; tensor data page aligned and ending the file.
        #expect([u32(64), u32(96), u32(128)] == [1, 2, 3])
        let dataOffset = u64(128 + 8), dataLength = u64(128 + 16)
        #expect(dataOffset % 4096 == 0)
        #expect(dataOffset + dataLength == UInt64(bytes.count))
        #expect(u64(128 + 24) == XXH64.chunkedHash(bytes.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[Int(dataOffset)...]) }))
    }

    @Test func modelWithoutWeightsHasAnEmptyDataSection() throws {
        var builder = GraphBuilder(name: "no weights")
        builder.output(builder.node("Relu", [builder.input("x", .float32, [4])]), as: "y")
        let model = try Model(graph: builder.build())
        let bytes = try model.serialized()
        #expect(bytes.count < 512)
        let loaded = try Model(data: bytes)
        #expect(loaded.graph.initializers.isEmpty)
        #expect(loaded.outputs == model.outputs)
    }

    /// The replacement is atomic: a model mapped from the old file keeps its weights, the path gives
    /// the new model, and no temporary file is left behind.
    @Test func writeReplacesAtomically() throws {
        let folder = try FormatFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.kiln")
        try FormatFixtures.sampleModel().write(to: url)
        let old = try Model(contentsOf: url)
        try FormatFixtures.tinyModel().write(to: url)
        #expect(try old.graph.initializers["int32"]?.scalars(as: Int32.self) == [-5, 0, Int32.max])
        #expect(try Model(contentsOf: url).metadata.name == "tiny")
        // Writing a mapped model over its own file reads from the old inode while the new one fills.
        try old.write(to: url)
        #expect(try Model(contentsOf: url).serialized() == (try old.serialized()))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.kiln"])
    }

    @Test func reportsMissingAndEmptyFiles() throws {
        let folder = try FormatFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("missing.kiln")
        #expect(throws: FormatError.io(path: missing.path, reason: "cannot open: No such file or directory")) {
            try Model(contentsOf: missing)
        }
        let empty = folder.appendingPathComponent("empty.kiln")
        #expect(FileManager.default.createFile(atPath: empty.path, contents: Data()))
        #expect(throws: FormatError.truncated(section: "header", offset: 0, needed: 64, available: 0)) {
            try Model(contentsOf: empty)
        }
        #expect(throws: FormatError.io(path: folder.path, reason: "not a regular file")) {
            try Model(contentsOf: folder)
        }
    }
}

@Suite struct FormatWriterTests {
    /// The writer refuses what its reader would refuse, so every written file loads.
    @Test func refusesValuesNoReaderAccepts() throws {
        var graph = Graph(name: "bad", inputs: [ValueInfo("x", .float32, [.fixed(-2)])],
                          outputs: [ValueInfo("x", .float32, [.fixed(-2)])])
        let negativeDim = try Model(graph: graph)
        #expect(throws: FormatError.unwritable(reason: "value 'x' has a negative dim (-2)")) { try negativeDim.serialized() }
        graph.inputs = [ValueInfo("x", .float32, [2])]
        graph.outputs = graph.inputs
        graph.opsetImports = ["": 0]
        let badOpset = try Model(graph: graph)
        #expect(throws: FormatError.unwritable(reason: "opset version 0 of domain '' is below 1")) { try badOpset.serialized() }
    }
}
