/// A bounds-checked cursor over one section's bytes. Every read checks the remaining length first
/// and errors name the section and the absolute file offset.
package struct ByteReader {
    private let base: UnsafeRawPointer
    package let count: Int
    /// File offset of `base`, for error messages.
    package let fileOffset: Int
    package let section: String
    package private(set) var position = 0

    package init(_ buffer: UnsafeRawBufferPointer, fileOffset: Int, section: String) {
        // A zero-length buffer may have no base address; nothing is ever read through it then.
        self.base = buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        self.count = buffer.count
        self.fileOffset = fileOffset
        self.section = section
    }

    package var remaining: Int { count - position }
    package var isAtEnd: Bool { position == count }
    /// Absolute file offset of the next byte.
    package var currentOffset: Int { fileOffset + position }

    /// An `invalidValue` error at `position` (default: the current one).
    package func invalid(_ reason: String, at position: Int? = nil) -> FormatError {
        .invalidValue(section: section, offset: fileOffset + (position ?? self.position), reason: reason)
    }

    private func require(_ byteCount: Int) throws(FormatError) {
        guard byteCount >= 0, byteCount <= remaining else {
            throw .truncated(section: section, offset: currentOffset, needed: byteCount, available: remaining)
        }
    }

    package mutating func u8() throws(FormatError) -> UInt8 {
        try require(1)
        defer { position += 1 }
        return base.load(fromByteOffset: position, as: UInt8.self)
    }

    package mutating func u32() throws(FormatError) -> UInt32 {
        try require(4)
        defer { position += 4 }
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    package mutating func u64() throws(FormatError) -> UInt64 {
        try require(8)
        defer { position += 8 }
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    package mutating func i64() throws(FormatError) -> Int64 {
        Int64(bitPattern: try u64())
    }

    /// A `u64` that must fit in `Int` (offsets and lengths).
    package mutating func length(_ what: String) throws(FormatError) -> Int {
        let start = position
        let value = try u64()
        guard value <= UInt64(Int.max) else { throw invalid("\(what) \(value) is out of range", at: start) }
        return Int(value)
    }

    package mutating func f32() throws(FormatError) -> Float {
        Float(bitPattern: try u32())
    }

    /// A bool stored as one byte, 0 or 1.
    package mutating func flag(_ what: String) throws(FormatError) -> Bool {
        let start = position
        switch try u8() {
        case 0: return false
        case 1: return true
        case let other: throw invalid("\(what) must be 0 or 1, found \(other)", at: start)
        }
    }

    /// An array count, checked against what the remaining bytes could hold so that a hostile count
    /// can never make the caller reserve memory out of proportion to the file.
    package mutating func arrayCount(minimumElementSize: Int) throws(FormatError) -> Int {
        let start = position
        let count = Int(try u32())
        guard count <= remaining / minimumElementSize else {
            throw .truncated(section: section, offset: fileOffset + start,
                             needed: count * minimumElementSize, available: remaining)
        }
        return count
    }

    /// A length-prefixed UTF-8 string.
    package mutating func string() throws(FormatError) -> String {
        let start = position
        let length = Int(try u32())
        try require(length)
        let bytes = UnsafeBufferPointer(start: (base + position).assumingMemoryBound(to: UInt8.self), count: length)
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw invalid("string is not valid UTF-8", at: start)
        }
        position += length
        return string
    }

    /// `byteCount` raw bytes, borrowed from the underlying buffer.
    package mutating func bytes(_ byteCount: Int) throws(FormatError) -> UnsafeRawBufferPointer {
        try require(byteCount)
        defer { position += byteCount }
        return UnsafeRawBufferPointer(start: base + position, count: byteCount)
    }
}
