/// One entry of the section table.
package struct SectionEntry: Sendable {
    package var kind: UInt32
    package var flags: UInt32
    package var offset: Int
    package var length: Int
    package var checksum: UInt64
    /// Position of the entry in the table, for error messages.
    package var index: Int

    package var knownKind: SectionKind? { SectionKind(rawValue: kind) }

    package var name: String { knownKind?.name ?? "section \(index) (kind \(kind))" }

    package var range: Range<Int> { offset..<(offset + length) }
}

/// Reads a `.kiln` file from bytes in memory (a mapping or an array): checks the header and section
/// table, verifies every checksum and decodes metadata and graph. Docs/FORMAT.md is the specification.
package enum KilnFileReader {
    /// The validated header fields.
    package struct Header: Sendable {
        package var version: FormatVersion
        package var flags: UInt32
        package var fileLength: Int
        package var tableOffset: Int
        package var sectionCount: Int
        package var tableChecksum: UInt64
    }

    /// Decodes a whole file.
    package static func read(_ file: UnsafeRawBufferPointer, backing: TensorBacking) throws(FormatError) -> (Graph, ModelMetadata) {
        let layout = try checkLayout(file)
        // Unknown optional sections are verified too: every byte of the file is checked.
        for entry in layout.sections { try verify(file, entry) }
        return try decode(file, layout, backing: backing)
    }

    /// ``read(_:backing:)`` followed by `finish` (a model's type inference), with the tensor data
    /// section's checksum computed on other threads meanwhile: on a large model that checksum is
    /// most of a load, and decoding and `finish` run in its shadow instead of after it. The result
    /// is returned only once every checksum matched; when the data section's does not, that is the
    /// error thrown, whatever decoding or `finish` made of the corrupt bytes (they treat them as
    /// untrusted input anyway: a file can carry hostile values under a valid checksum). The file's
    /// bytes are not touched after this returns.
    package static func read<Result>(_ file: UnsafeRawBufferPointer, backing: TensorBacking,
                                     finish: (Graph, ModelMetadata) throws -> Result) throws -> Result {
        let layout = try checkLayout(file)
        let data = layout.byKind[.tensorData]
        for entry in layout.sections where entry.index != data?.index { try verify(file, entry) }
        func decodeAndFinish() throws -> Result {
            let (graph, metadata) = try decode(file, layout, backing: backing)
            return try finish(graph, metadata)
        }
        guard let data else { return try decodeAndFinish() }
        let checksum = ParallelChecksum(slice(file, data.range))
        let outcome = Swift.Result { try decodeAndFinish() }
        guard checksum.wait() == data.checksum else { throw FormatError.checksumMismatch(section: data.name) }
        return try outcome.get()
    }

    /// Header, section table and padding, checked.
    private struct Layout {
        var header: Header
        var sections: [SectionEntry]
        var byKind: [SectionKind: SectionEntry]
    }

    private static func checkLayout(_ file: UnsafeRawBufferPointer) throws(FormatError) -> Layout {
        let header = try readHeader(file)
        let sections = try readSectionTable(file, header: header)
        try checkPaddingIsZero(file, header: header, sections: sections)

        var byKind: [SectionKind: SectionEntry] = [:]
        for entry in sections {
            if let kind = entry.knownKind {
                guard byKind.updateValue(entry, forKey: kind) == nil else { throw .duplicateSection(kind.name) }
            } else if entry.flags & FormatLayout.sectionRequiredFlag != 0 {
                throw .unsupportedFeature(found: header.version, supported: .current,
                                          feature: "section kind \(entry.kind) (table entry \(entry.index))")
            }
        }
        for kind in SectionKind.allCases where byKind[kind] == nil { throw .missingSection(kind.name) }
        return Layout(header: header, sections: sections, byKind: byKind)
    }

    private static func verify(_ file: UnsafeRawBufferPointer, _ entry: SectionEntry) throws(FormatError) {
        guard XXH64.chunkedHash(slice(file, entry.range)) == entry.checksum else { throw .checksumMismatch(section: entry.name) }
    }

    /// Decodes metadata and graph from a file whose layout was checked.
    private static func decode(_ file: UnsafeRawBufferPointer, _ layout: Layout,
                               backing: TensorBacking) throws(FormatError) -> (Graph, ModelMetadata) {
        let header = layout.header, byKind = layout.byKind
        let newerMinor = header.version.minor > FormatVersion.current.minor
        guard let metadataEntry = byKind[.metadata], let graphEntry = byKind[.graph],
              let dataEntry = byKind[.tensorData] else { throw .missingSection("required") }
        if dataEntry.length > 0 && dataEntry.offset % FormatLayout.dataSectionAlignment != 0 {
            throw .invalidValue(section: "section table", offset: header.tableOffset + dataEntry.index * FormatLayout.sectionEntrySize + 8,
                                reason: "the tensor data section starts at \(dataEntry.offset), not a multiple of \(FormatLayout.dataSectionAlignment)")
        }
        var metadataReader = ByteReader(slice(file, metadataEntry.range), fileOffset: metadataEntry.offset, section: "metadata")
        let metadata = try MetadataSection.decode(&metadataReader, allowTrailingBytes: newerMinor)
        var graphReader = ByteReader(slice(file, graphEntry.range), fileOffset: graphEntry.offset, section: "graph")
        let graph = try GraphSection.decode(&graphReader, tensorData: slice(file, dataEntry.range),
                                            tensorDataOffset: dataEntry.offset, backing: backing,
                                            allowTrailingBytes: newerMinor)
        if graph.storesKernelLayoutWeights && header.flags & FormatLayout.kernelLayoutWeightsFlag == 0 {
            throw .invalidValue(section: "header", offset: FormatLayout.flagsOffset,
                                reason: "nodes store weights in a kernel's layout (\(PackWeightsPass.attributeName)) but flag bit 0, which makes older readers refuse the file, is clear")
        }
        if graph.storesWinogradWeights && header.flags & FormatLayout.winogradWeightsFlag == 0 {
            throw .invalidValue(section: "header", offset: FormatLayout.flagsOffset,
                                reason: "Conv nodes store W as a Winograd transform (\(PackWeightsPass.attributeName) 2 or 3) but flag bit 1, which makes older readers refuse the file, is clear")
        }
        return (graph, metadata)
    }

    private static func slice(_ file: UnsafeRawBufferPointer, _ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file[range])
    }

    private static func u16(_ file: UnsafeRawBufferPointer, _ offset: Int) -> UInt16 {
        UInt16(littleEndian: file.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    private static func u32(_ file: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(littleEndian: file.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    private static func u64(_ file: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: file.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Checks magic, version, header checksum, flags and file length, in that order.
    package static func readHeader(_ file: UnsafeRawBufferPointer) throws(FormatError) -> Header {
        let magic = FormatLayout.magic
        let magicBytes = min(file.count, magic.count)
        guard file.prefix(magicBytes).elementsEqual(magic.prefix(magicBytes)) else { throw .badMagic }
        let headerSize = FormatLayout.headerSize
        guard file.count >= headerSize else {
            throw .truncated(section: "header", offset: file.count, needed: headerSize, available: file.count)
        }
        // The version fields keep their place in every version, so they are read before the checksum,
        // whose position a future major might change.
        let version = FormatVersion(major: Int(u16(file, FormatLayout.majorOffset)), minor: Int(u16(file, FormatLayout.minorOffset)))
        guard version.major == FormatVersion.current.major else {
            throw .unsupportedMajorVersion(found: version, supported: .current)
        }
        let headerHash = XXH64.hash(slice(file, 0..<FormatLayout.headerChecksumOffset))
        guard headerHash == u64(file, FormatLayout.headerChecksumOffset) else { throw .checksumMismatch(section: "header") }

        let flags = u32(file, FormatLayout.flagsOffset)
        let unknownRequired = flags & FormatLayout.requiredFlagsMask & ~FormatLayout.knownRequiredFlags
        if unknownRequired != 0 {
            throw .unsupportedFeature(found: version, supported: .current,
                                      feature: "header flags 0x\(String(unknownRequired, radix: 16))")
        }
        if version.minor <= FormatVersion.current.minor {
            for offset in [FormatLayout.reserved1Offset] where u32(file, offset) != 0 {
                throw .invalidValue(section: "header", offset: offset, reason: "reserved field is not zero")
            }
            for offset in [FormatLayout.reserved2Offset] where u64(file, offset) != 0 {
                throw .invalidValue(section: "header", offset: offset, reason: "reserved field is not zero")
            }
        }
        let declaredLength = u64(file, FormatLayout.fileLengthOffset)
        guard declaredLength <= UInt64(file.count) else {
            throw .truncated(section: "file", offset: file.count, needed: Int(clamping: declaredLength), available: file.count)
        }
        guard declaredLength == UInt64(file.count) else {
            throw .invalidValue(section: "header", offset: FormatLayout.fileLengthOffset,
                                reason: "the header says the file is \(declaredLength) bytes long, but it has \(file.count)")
        }
        let tableOffset = u64(file, FormatLayout.tableOffsetOffset)
        let sectionCount = Int(u32(file, FormatLayout.sectionCountOffset))
        guard tableOffset >= UInt64(headerSize), tableOffset <= UInt64(file.count) else {
            throw .invalidValue(section: "header", offset: FormatLayout.tableOffsetOffset,
                                reason: "section table offset \(tableOffset) is outside \(headerSize)...\(file.count)")
        }
        let available = file.count - Int(tableOffset)
        guard sectionCount <= available / FormatLayout.sectionEntrySize else {
            throw .truncated(section: "section table", offset: Int(tableOffset),
                             needed: sectionCount * FormatLayout.sectionEntrySize, available: available)
        }
        return Header(version: version, flags: flags, fileLength: file.count, tableOffset: Int(tableOffset),
                      sectionCount: sectionCount, tableChecksum: u64(file, FormatLayout.tableChecksumOffset))
    }

    /// Verifies the table checksum and checks every section range lies in the file without overlap.
    package static func readSectionTable(_ file: UnsafeRawBufferPointer, header: Header) throws(FormatError) -> [SectionEntry] {
        let tableRange = header.tableOffset..<(header.tableOffset + header.sectionCount * FormatLayout.sectionEntrySize)
        guard XXH64.hash(slice(file, tableRange)) == header.tableChecksum else {
            throw .checksumMismatch(section: "section table")
        }
        var reader = ByteReader(slice(file, tableRange), fileOffset: header.tableOffset, section: "section table")
        var entries: [SectionEntry] = []
        entries.reserveCapacity(header.sectionCount)
        for index in 0..<header.sectionCount {
            let kind = try reader.u32()
            let flags = try reader.u32()
            let offsetPosition = reader.position
            let offset = try reader.length("section offset")
            let length = try reader.length("section length")
            let checksum = try reader.u64()
            guard offset <= header.fileLength, length <= header.fileLength - offset else {
                throw reader.invalid("section \(index) (kind \(kind)) spans bytes \(offset)..<\(offset &+ length), outside the \(header.fileLength)-byte file",
                                     at: offsetPosition)
            }
            entries.append(SectionEntry(kind: kind, flags: flags, offset: offset, length: length, checksum: checksum, index: index))
        }
        // Header, table and sections must not overlap.
        var occupied: [(range: Range<Int>, name: String)] = [(0..<FormatLayout.headerSize, "header"), (tableRange, "section table")]
        occupied += entries.map { ($0.range, $0.name) }
        occupied.sort { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }
        for (previous, next) in zip(occupied, occupied.dropFirst()) where next.range.lowerBound < previous.range.upperBound {
            throw .invalidValue(section: "section table", offset: header.tableOffset,
                                reason: "\(next.name) (bytes \(next.range)) overlaps \(previous.name) (bytes \(previous.range))")
        }
        return entries
    }

    /// Bytes outside header, table and sections are padding and must be zero, so that every byte of
    /// a file is checked.
    private static func checkPaddingIsZero(_ file: UnsafeRawBufferPointer, header: Header, sections: [SectionEntry]) throws(FormatError) {
        let tableEnd = header.tableOffset + header.sectionCount * FormatLayout.sectionEntrySize
        var occupied = [0..<FormatLayout.headerSize, header.tableOffset..<tableEnd] + sections.map(\.range)
        occupied.sort { $0.lowerBound < $1.lowerBound }
        var cursor = 0
        for range in occupied + [file.count..<file.count] {
            if range.lowerBound > cursor, let bad = firstNonZeroByte(file, cursor..<range.lowerBound) {
                throw .invalidValue(section: "padding", offset: bad, reason: "padding between sections must be zero, found \(file[bad])")
            }
            cursor = max(cursor, range.upperBound)
        }
    }

    private static func firstNonZeroByte(_ file: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        guard let base = file.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var index = range.lowerBound
        while index < range.upperBound {
            if base[index] != 0 { return index }
            index += 1
        }
        return nil
    }
}
