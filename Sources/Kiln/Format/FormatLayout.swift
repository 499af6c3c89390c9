/// Fixed numbers of the `.kiln` layout (Docs/FORMAT.md is the specification).
package enum FormatLayout {
    /// `\x89KLN\r\n\x1A\n`: a non-ASCII first byte and CR LF / SUB / LF catch text-mode corruption.
    package static let magic: [UInt8] = [0x89, 0x4B, 0x4C, 0x4E, 0x0D, 0x0A, 0x1A, 0x0A]
    package static let headerSize = 64
    package static let sectionEntrySize = 32
    /// Tensor data starts on a page boundary so a mapped file hands out page-aligned weights.
    package static let dataSectionAlignment = 4096
    /// Alignment of each tensor within the data section (same as owned tensors).
    package static let tensorAlignment = 64

    // Header field offsets.
    package static let majorOffset = 8
    package static let minorOffset = 10
    package static let flagsOffset = 12
    package static let fileLengthOffset = 16
    package static let tableOffsetOffset = 24
    package static let sectionCountOffset = 32
    package static let reserved1Offset = 36
    package static let tableChecksumOffset = 40
    package static let reserved2Offset = 48
    package static let headerChecksumOffset = 56

    /// Header flag bits 0-15 mark required features; a reader refuses a file with one it does not know.
    package static let requiredFlagsMask: UInt32 = 0x0000_FFFF
    /// Required header flag bit 0 (format 1.1): some initializers are stored in the layout of the
    /// kernel that reads them (nodes marked `kiln_packed_weights`, ``PackWeightsPass``). A 1.0
    /// reader would read them as ONNX's layout and compute wrong results, so it must refuse the file.
    package static let kernelLayoutWeightsFlag: UInt32 = 1 << 0
    /// Required header flag bit 1 (format 1.2): some `Conv` nodes read their W as a Winograd
    /// transform (`kiln_packed_weights` 2 or 3), of another shape than W. A 1.1 reader would take
    /// it for W and fail or compute wrong results, so it must refuse the file. Set with bit 0.
    package static let winogradWeightsFlag: UInt32 = 1 << 1
    /// The required header flags this reader knows.
    package static let knownRequiredFlags: UInt32 = kernelLayoutWeightsFlag | winogradWeightsFlag
    /// Section flag bit 0: a reader that does not know the kind must refuse the file.
    package static let sectionRequiredFlag: UInt32 = 1
}

/// The kinds of section a 1.0 file holds.
package enum SectionKind: UInt32, CaseIterable, Sendable {
    case metadata = 1
    case graph = 2
    case tensorData = 3

    /// The name used in errors.
    package var name: String {
        switch self {
        case .metadata: return "metadata"
        case .graph: return "graph"
        case .tensorData: return "tensor data"
        }
    }
}

/// Attribute kind tags in the graph section.
package enum AttributeTag: UInt8 {
    case int = 1, float, string, tensor, ints, floats, strings
}

/// Dim tags in the graph section.
package enum DimTag: UInt8 {
    case fixed = 0, symbolic = 1
}

extension Int {
    /// `self` rounded up to a multiple of `alignment` (a power of two), or nil on overflow.
    package func alignedUp(to alignment: Int) -> Int? {
        let (sum, overflow) = addingReportingOverflow(alignment - 1)
        return overflow ? nil : sum & ~(alignment - 1)
    }
}
