extension KilnFileReader {
    /// Recomputes every checksum of a possibly damaged `.kiln` file in place, as far as its header and
    /// section table can be read, so that a tampered file gets past the checksums to the decoders.
    /// Used by the fuzzer and by tests that build hostile files; never fails, never reads out of bounds.
    package static func resealChecksums(_ bytes: inout [UInt8]) {
        guard bytes.count >= FormatLayout.headerSize else { return }
        bytes.withUnsafeMutableBytes { file in
            func u64(_ offset: Int) -> UInt64 {
                UInt64(littleEndian: file.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            }
            func store(_ value: UInt64, at offset: Int) {
                file.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self)
            }
            let tableOffset = u64(FormatLayout.tableOffsetOffset)
            let sectionCount = UInt64(UInt32(littleEndian: file.loadUnaligned(fromByteOffset: FormatLayout.sectionCountOffset, as: UInt32.self)))
            let entrySize = UInt64(FormatLayout.sectionEntrySize)
            if tableOffset >= UInt64(FormatLayout.headerSize), tableOffset <= UInt64(file.count),
               sectionCount <= (UInt64(file.count) - tableOffset) / entrySize {
                let table = Int(tableOffset)
                for index in 0..<Int(sectionCount) {
                    let entry = table + index * FormatLayout.sectionEntrySize
                    let offset = u64(entry + 8)
                    let length = u64(entry + 16)
                    guard offset <= UInt64(file.count), length <= UInt64(file.count) - offset else { continue }
                    let section = UnsafeRawBufferPointer(rebasing: file[Int(offset)..<Int(offset + length)])
                    store(XXH64.chunkedHash(section), at: entry + 24)
                }
                let tableBytes = UnsafeRawBufferPointer(rebasing: file[table..<(table + Int(sectionCount) * FormatLayout.sectionEntrySize)])
                store(XXH64.hash(tableBytes), at: FormatLayout.tableChecksumOffset)
            }
            let header = UnsafeRawBufferPointer(rebasing: file[0..<FormatLayout.headerChecksumOffset])
            store(XXH64.hash(header), at: FormatLayout.headerChecksumOffset)
        }
    }
}
