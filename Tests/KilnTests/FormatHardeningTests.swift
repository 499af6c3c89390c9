@testable import Kiln
import Foundation
import Testing

/// Damaged and hostile files: every one must give a typed `FormatError`, quickly, never a crash.
@Suite struct FormatHardeningTests {
    /// Loads `bytes` expecting a FormatError; returns it.
    @discardableResult
    func formatError(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> FormatError? {
        let start = ContinuousClock.now
        defer {
            #expect(ContinuousClock.now - start < .seconds(1), "rejecting a hostile file took too long", sourceLocation: sourceLocation)
        }
        do {
            _ = try Model(data: bytes)
            Issue.record("the file loaded", sourceLocation: sourceLocation)
        } catch let error as FormatError {
            return error
        } catch {
            Issue.record("expected a FormatError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    @Test func truncationAtEveryByteOffsetIsReported() throws {
        let bytes = try FormatFixtures.tinyModel().serialized()
        for length in 0..<bytes.count {
            guard let error = formatError(Array(bytes[0..<length])) else { continue }
            switch error {
            case .truncated: break
            default: Issue.record("truncated to \(length) bytes: \(error)")
            }
        }
        #expect(throws: Never.self) { try Model(data: bytes) }
    }

    @Test func everySingleBitFlipIsDetected() throws {
        var bytes = try FormatFixtures.tinyModel().serialized()
        let start = ContinuousClock.now
        for index in bytes.indices {
            for bit in 0..<8 {
                bytes[index] ^= 1 << bit
                defer { bytes[index] ^= 1 << bit }
                do {
                    _ = try Model(data: bytes)
                    Issue.record("flipping bit \(bit) of byte \(index) went unnoticed")
                } catch is FormatError {
                } catch {
                    Issue.record("flipping bit \(bit) of byte \(index): \(type(of: error)) \(error)")
                }
            }
        }
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test func textModeTransferIsRefusedAsBadMagic() throws {
        var bytes = try FormatFixtures.tinyModel().serialized()
        bytes.remove(at: 4)  // the CR of CR LF, as a Windows-to-Unix conversion does
        #expect(formatError(bytes) == .badMagic)
        #expect(formatError(Array("hello, world\n".utf8)) == .badMagic)
    }

    @Test func handBuiltFileLoads() throws {
        let model = try Model(data: HandBuiltFile().bytes())
        #expect(model.metadata.name == "hand built")
        #expect(model.graph.opset == 17)
    }

    // MARK: Versions

    @Test func newerMajorVersionIsRefusedNamingBothVersions() throws {
        var file = HandBuiltFile()
        file.major = 2
        let error = formatError(file.bytes())
        #expect(error == .unsupportedMajorVersion(found: FormatVersion(major: 2, minor: 0), supported: .current))
        let message = error?.description ?? ""
        #expect(message.contains("2.0") && message.contains("\(FormatVersion.current)"))
    }

    /// A newer minor may add optional sections, optional flags, reserved fields and fields appended
    /// to the metadata and graph sections: this reader skips them.
    @Test func newerMinorVersionWithSkippableAdditionsLoads() throws {
        var file = HandBuiltFile(metadata: HandBuiltFile.metadata() + [1, 2, 3], graph: HandBuiltFile.graph() + [9, 9])
        file.minor = UInt16(FormatVersion.current.minor + 1)
        file.flags = 0x0001_0000
        file.sections.append(.init(kind: 77, bytes: [4, 5, 6]))
        let model = try Model(data: file.bytes())
        #expect(model.metadata.name == "hand built")
    }

    @Test func unknownOptionalSectionIsSkippedInTheSameMinor() throws {
        var file = HandBuiltFile()
        file.sections.insert(.init(kind: 1000, bytes: Array("future".utf8)), at: 0)
        #expect(try Model(data: file.bytes()).metadata.name == "hand built")
    }

    @Test func requiredFeaturesOfNewerMinorAreRefused() throws {
        var file = HandBuiltFile()
        file.minor = 3
        file.sections.append(.init(kind: 9, flags: 1, bytes: []))
        #expect(formatError(file.bytes()) == .unsupportedFeature(
            found: FormatVersion(major: 1, minor: 3), supported: .current, feature: "section kind 9 (table entry 3)"))
        file.sections.removeLast()
        file.flags = 0x4
        #expect(formatError(file.bytes()) == .unsupportedFeature(
            found: FormatVersion(major: 1, minor: 3), supported: .current, feature: "header flags 0x4"))
    }

    @Test func sameMinorMustNotHaveTrailingFields() throws {
        let file = HandBuiltFile(graph: HandBuiltFile.graph() + [0])
        guard case .invalidValue(section: "graph", _, _) = formatError(file.bytes()) else {
            Issue.record("trailing graph bytes in a 1.0 file were accepted")
            return
        }
    }

    // MARK: Section table

    @Test func rejectsBadSectionTables() throws {
        var file = HandBuiltFile()
        file.sectionCount = 0x0FFF_FFFF
        guard case .truncated(section: "section table", _, _, _) = formatError(file.bytes()) else {
            Issue.record("huge section count")
            return
        }

        file = HandBuiltFile()
        file.sections[0].length = UInt64.max - 10
        guard case .invalidValue(section: "section table", _, _) = formatError(file.bytes()) else {
            Issue.record("section past the end")
            return
        }

        file = HandBuiltFile()
        file.sections[1].offset = 64 + 32 * 3 + 2  // inside the metadata section
        guard case .invalidValue(section: "section table", _, let reason) = formatError(file.bytes()),
              reason.contains("overlaps") else {
            Issue.record("overlapping sections")
            return
        }

        file = HandBuiltFile()
        file.sections[2].offset = 40  // inside the header
        file.sections[2].bytes = []
        #expect(formatError(file.bytes()) != nil)

        file = HandBuiltFile()
        file.sections.append(file.sections[0])
        file.sections[3].offset = nil
        #expect(formatError(file.bytes()) == .duplicateSection("metadata"))

        file = HandBuiltFile()
        file.sections.remove(at: 1)
        #expect(formatError(file.bytes()) == .missingSection("graph"))
    }

    @Test func tensorDataMustBePageAligned() throws {
        var file = HandBuiltFile(tensorData: [1, 2, 3, 4])
        file.sections[2].offset = 4096 + 64
        guard case .invalidValue(section: "section table", _, let reason) = formatError(file.bytes()),
              reason.contains("4096") else {
            Issue.record("misaligned tensor data section")
            return
        }
    }

    @Test func paddingMustBeZero() throws {
        var bytes = HandBuiltFile(tensorData: [0, 0, 0, 0]).bytes()
        bytes[4000] = 1
        #expect(formatError(bytes) == .invalidValue(section: "padding", offset: 4000, reason: "padding between sections must be zero, found 1"))
    }

    @Test func fileLengthMustMatch() throws {
        var bytes = HandBuiltFile().bytes()
        bytes += [0, 0, 0, 0]
        guard case .invalidValue(section: "header", offset: 16, _) = formatError(bytes) else {
            Issue.record("trailing bytes after the declared length")
            return
        }
    }

    // MARK: Hostile counts, lengths and dims (valid checksums)

    @Test func hugeCountsAndLengthsAreTruncationErrors() throws {
        var metadata = ByteWriter()
        metadata.u32(0xFFFF_FFF0)  // name length
        #expect(formatError(HandBuiltFile(metadata: metadata.bytes).bytes())
                == .truncated(section: "metadata", offset: 64 + 96 + 4, needed: 0xFFFF_FFF0, available: 0))

        var properties = ByteWriter()
        for _ in 0..<4 { properties.u32(0) }
        properties.u32(0xFFFF_FFFF)
        guard case .truncated(section: "metadata", _, _, _) = formatError(HandBuiltFile(metadata: properties.bytes).bytes()) else {
            Issue.record("huge property count")
            return
        }

        var nodes = ByteWriter()
        nodes.u32(0xFFFF_FFFF)
        guard case .truncated(section: "graph", _, _, _) = formatError(HandBuiltFile(graph: HandBuiltFile.graph(nodes: nodes.bytes)).bytes()) else {
            Issue.record("huge node count")
            return
        }

        var inputs = ByteWriter()
        inputs.u32(1)
        try inputs.string("x")
        inputs.u8(1)
        inputs.u8(1)
        inputs.u32(0x7FFF_FFFF)  // rank
        inputs.u32(0)
        guard case .truncated(section: "graph", _, _, _) = formatError(HandBuiltFile(graph: HandBuiltFile.graph(valueInfos: inputs.bytes)).bytes()) else {
            Issue.record("huge rank")
            return
        }

        for tag in [AttributeTag.ints, .floats, .strings] {
            var node = ByteWriter()
            node.u32(1)
            for string in ["n", "Relu", ""] { try node.string(string) }
            node.u32(0)
            node.u32(0)
            node.u32(1)
            try node.string("a")
            node.u8(tag.rawValue)
            node.u32(0xFFFF_FFFF)
            guard case .truncated(section: "graph", _, _, _) = formatError(HandBuiltFile(graph: HandBuiltFile.graph(nodes: node.bytes)).bytes()) else {
                Issue.record("huge attribute count, kind \(tag)")
                return
            }
        }

        var tensorAttribute = ByteWriter()
        tensorAttribute.u32(1)
        for string in ["n", "Relu", ""] { try tensorAttribute.string(string) }
        tensorAttribute.u32(0)
        tensorAttribute.u32(0)
        tensorAttribute.u32(1)
        try tensorAttribute.string("t")
        tensorAttribute.u8(AttributeTag.tensor.rawValue)
        tensorAttribute.u8(DType.uint8.rawValue)
        tensorAttribute.u32(1)
        tensorAttribute.i64(1 << 40)
        tensorAttribute.u64(1 << 40)
        guard case .truncated(section: "graph", _, 1 << 40, _) = formatError(HandBuiltFile(graph: HandBuiltFile.graph(nodes: tensorAttribute.bytes)).bytes()) else {
            Issue.record("huge inline tensor")
            return
        }
    }

    /// Initializer entries whose shape, offset or length do not fit.
    @Test(arguments: [
        ("overflowing dims", [Int64(1) << 40, Int64(1) << 40], UInt64(0), UInt64(0), "overflows"),
        ("negative dim", [-3], 0, 0, "negative"),
        ("offset out of range", [1], UInt64.max - 63, 4, "out of range"),
        ("past the section", [1], UInt64(1) << 62, 4, "outside"),
        ("misaligned", [1], 4, 4, "multiple of 64"),
        ("wrong length", [2], 0, 4, "length says 4"),
        ("past the end by one", [32], 0, 128, "outside"),
    ] as [(String, [Int64], UInt64, UInt64, String)])
    func rejectsInitializerRanges(label: String, shape: [Int64], offset: UInt64, length: UInt64, reasonPart: String) throws {
        var entries = ByteWriter()
        entries.u32(1)
        entries.initializer("w", shape: shape, offset: offset, length: length)
        let file = HandBuiltFile(graph: HandBuiltFile.graph(initializers: entries.bytes), tensorData: [UInt8](repeating: 0, count: 127))
        guard case .invalidValue(section: "graph", _, let reason) = formatError(file.bytes()), reason.contains(reasonPart) else {
            Issue.record("\(label): not rejected as expected")
            return
        }
    }

    @Test func boolTensorsMustHoldZeroOrOne() throws {
        var entries = ByteWriter()
        entries.u32(1)
        entries.initializer("flags", dtype: DType.bool.rawValue, shape: [4], offset: 0, length: 4)
        let good = HandBuiltFile(graph: HandBuiltFile.graph(initializers: entries.bytes), tensorData: [0, 1, 1, 0])
        #expect(try Model(data: good.bytes()).graph.initializers["flags"]?.scalars(as: Bool.self) == [false, true, true, false])
        let bad = HandBuiltFile(graph: HandBuiltFile.graph(initializers: entries.bytes), tensorData: [0, 1, 2, 0])
        guard case .invalidValue(section: "tensor data", offset: 4096 + 2, let reason) = formatError(bad.bytes()),
              reason.contains("byte 2") else {
            Issue.record("bool byte 2 accepted")
            return
        }
    }

    @Test func rejectsInvalidValues() throws {
        var entries = ByteWriter()
        entries.u32(1)
        entries.initializer("w", dtype: 99, shape: [1], offset: 0, length: 4)
        guard case .invalidValue(section: "graph", _, let reason) = formatError(HandBuiltFile(graph: HandBuiltFile.graph(initializers: entries.bytes), tensorData: [0, 0, 0, 0]).bytes()),
              reason.contains("dtype code 99") else {
            Issue.record("unknown dtype")
            return
        }

        var metadata = ByteWriter()
        metadata.u32(2)
        metadata.u8(0xC3)
        metadata.u8(0x28)
        for _ in 0..<3 { metadata.u32(0) }
        metadata.u32(0)
        guard case .invalidValue(section: "metadata", offset: 160, let utf8Reason) = formatError(HandBuiltFile(metadata: metadata.bytes).bytes()),
              utf8Reason.contains("UTF-8") else {
            Issue.record("invalid UTF-8")
            return
        }

        var node = ByteWriter()
        node.u32(1)
        for string in ["n", "Relu", ""] { try node.string(string) }
        node.u32(0)
        node.u32(0)
        node.u32(1)
        try node.string("a")
        node.u8(42)
        node.u32(0)
        guard case .invalidValue(section: "graph", _, let kindReason) = formatError(HandBuiltFile(graph: HandBuiltFile.graph(nodes: node.bytes)).bytes()),
              kindReason.contains("unknown kind 42") else {
            Issue.record("unknown attribute kind")
            return
        }

        var opsets = ByteWriter()
        try opsets.string("g")
        opsets.u32(2)
        try opsets.string("")
        opsets.i64(17)
        try opsets.string("")
        opsets.i64(18)
        guard case .invalidValue(section: "graph", _, let duplicateReason) = formatError(HandBuiltFile(graph: opsets.bytes + [UInt8](repeating: 0, count: 16)).bytes()),
              duplicateReason.contains("twice") else {
            Issue.record("duplicate opset domain")
            return
        }

        var duplicates = ByteWriter()
        duplicates.u32(2)
        duplicates.initializer("w", shape: [1], offset: 0, length: 4)
        duplicates.initializer("w", shape: [1], offset: 0, length: 4)
        guard case .invalidValue(section: "graph", _, let twiceReason) = formatError(HandBuiltFile(graph: HandBuiltFile.graph(initializers: duplicates.bytes), tensorData: [0, 0, 0, 0]).bytes()),
              twiceReason.contains("twice") else {
            Issue.record("duplicate initializer")
            return
        }
    }

    /// Tampering with a real file's graph and resealing its checksums reaches the decoder.
    @Test func resealedTamperingReachesTheDecoder() throws {
        var bytes = try FormatFixtures.tinyModel().serialized()
        let graphOffset = Int(bytes[96 + 8]) | Int(bytes[96 + 9]) << 8
        // The graph name's length field: claim the name runs past the section.
        bytes[graphOffset + 3] = 0x7F
        KilnFileReader.resealChecksums(&bytes)
        guard case .truncated(section: "graph", offset: graphOffset + 4, _, _) = formatError(bytes) else {
            Issue.record("tampered graph name length")
            return
        }
    }

    /// A valid file whose graph is broken is refused by graph validation, not by the format layer.
    @Test func structurallyInvalidGraphGivesGraphError() throws {
        var node = ByteWriter()
        node.u32(1)
        for string in ["n", "Relu", ""] { try node.string(string) }
        node.u32(1)
        try node.string("nowhere")
        node.u32(1)
        try node.string("y")
        node.u32(0)
        #expect(throws: GraphError.undefinedValue(name: "nowhere", usedBy: "n")) {
            try Model(data: HandBuiltFile(graph: HandBuiltFile.graph(nodes: node.bytes)).bytes())
        }
    }
}
