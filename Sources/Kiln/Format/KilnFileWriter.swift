/// Lays out and writes a `.kiln` file (Docs/FORMAT.md): header, section table, metadata, graph,
/// then the page-aligned tensor data with every tensor 64-byte aligned.
package struct KilnFileWriter {
    private let metadataBytes: [UInt8]
    private let graphBytes: [UInt8]
    /// Initializers in data-section order, with their placement.
    private let tensors: [(tensor: Tensor, placement: TensorPlacement)]
    private let metadataOffset: Int
    private let graphOffset: Int
    private let dataOffset: Int
    private let dataLength: Int
    /// The header's flags (``FormatLayout/kernelLayoutWeightsFlag``).
    private let flags: UInt32
    private static let sectionCount = SectionKind.allCases.count

    /// Total size of the file.
    package let fileLength: Int

    /// Plans the layout of `graph` and `metadata`.
    package init(graph: Graph, metadata: ModelMetadata) throws(FormatError) {
        var placements: [String: TensorPlacement] = [:]
        var tensors: [(Tensor, TensorPlacement)] = []
        var cursor = 0
        for name in graph.initializers.keys.sorted() {
            guard let tensor = graph.initializers[name] else { continue }
            guard let start = cursor.alignedUp(to: FormatLayout.tensorAlignment),
                  case (let end, false) = start.addingReportingOverflow(tensor.byteCount)
            else { throw .tooLarge(what: "the tensor data") }
            let placement = TensorPlacement(offset: start, length: tensor.byteCount)
            placements[name] = placement
            tensors.append((tensor, placement))
            cursor = end
        }
        self.tensors = tensors
        dataLength = cursor
        metadataBytes = try MetadataSection.encode(metadata)
        graphBytes = try GraphSection.encode(graph, placements: placements)
        flags = (graph.storesKernelLayoutWeights ? FormatLayout.kernelLayoutWeightsFlag : 0)
            | (graph.storesWinogradWeights ? FormatLayout.winogradWeightsFlag : 0)

        let tableEnd = FormatLayout.headerSize + KilnFileWriter.sectionCount * FormatLayout.sectionEntrySize
        metadataOffset = tableEnd
        // Eight-byte alignment is not needed by the reader; it keeps hex dumps readable.
        graphOffset = (metadataOffset + metadataBytes.count).alignedUp(to: 8) ?? 0
        let graphEnd = graphOffset + graphBytes.count
        if dataLength > 0 {
            guard let aligned = graphEnd.alignedUp(to: FormatLayout.dataSectionAlignment),
                  case (let end, false) = aligned.addingReportingOverflow(dataLength)
            else { throw .tooLarge(what: "the tensor data") }
            dataOffset = aligned
            fileLength = end
        } else {
            dataOffset = graphEnd
            fileLength = graphEnd
        }
    }

    /// Writes the file into `buffer`, which must be `fileLength` bytes and zero-filled.
    package func write(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count == fileLength, "the writer's buffer must be exactly fileLength bytes")
        guard let base = buffer.baseAddress else { return }
        metadataBytes.withUnsafeBytes { base.advanced(by: metadataOffset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        graphBytes.withUnsafeBytes { base.advanced(by: graphOffset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        for (tensor, placement) in tensors where placement.length > 0 {
            tensor.withUnsafeBytes { source in
                base.advanced(by: dataOffset + placement.offset).copyMemory(from: source.baseAddress!, byteCount: placement.length)
            }
        }

        var table = ByteWriter()
        let sections: [(SectionKind, Int, Int)] = [
            (.metadata, metadataOffset, metadataBytes.count),
            (.graph, graphOffset, graphBytes.count),
            (.tensorData, dataOffset, dataLength),
        ]
        for (kind, offset, length) in sections {
            table.u32(kind.rawValue)
            table.u32(0)
            table.u64(UInt64(offset))
            table.u64(UInt64(length))
            table.u64(XXH64.chunkedHash(UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + length)])))
        }
        table.bytes.withUnsafeBytes {
            base.advanced(by: FormatLayout.headerSize).copyMemory(from: $0.baseAddress!, byteCount: $0.count)
        }

        var header = ByteWriter()
        FormatLayout.magic.withUnsafeBytes { header.raw($0) }
        withUnsafeBytes(of: UInt16(FormatVersion.current.major).littleEndian) { header.raw($0) }
        withUnsafeBytes(of: UInt16(FormatVersion.current.minor).littleEndian) { header.raw($0) }
        header.u32(flags)
        header.u64(UInt64(fileLength))
        header.u64(UInt64(FormatLayout.headerSize))  // the table follows the header
        header.u32(UInt32(KilnFileWriter.sectionCount))
        header.u32(0)  // reserved
        header.u64(table.bytes.withUnsafeBytes { XXH64.hash($0) })
        header.u64(0)  // reserved
        header.u64(header.bytes.withUnsafeBytes { XXH64.hash($0) })
        header.bytes.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// The file as an array.
    package func bytes() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: fileLength)
        bytes.withUnsafeMutableBytes { write(into: $0) }
        return bytes
    }
}
