/// Appends little-endian values and length-prefixed strings and arrays (the writer's half of
/// ``ByteReader``).
package struct ByteWriter {
    package private(set) var bytes: [UInt8] = []

    package init() {}

    package mutating func u8(_ value: UInt8) { bytes.append(value) }

    package mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    package mutating func u64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    package mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }

    package mutating func f32(_ value: Float) { u32(value.bitPattern) }

    /// A `u32` count or length, refusing values the field cannot hold.
    package mutating func count(_ value: Int, of what: String) throws(FormatError) {
        guard value >= 0, value <= Int(UInt32.max) else { throw .tooLarge(what: what) }
        u32(UInt32(value))
    }

    package mutating func string(_ value: String, what: String = "a string") throws(FormatError) {
        let utf8 = Array(value.utf8)
        try count(utf8.count, of: what)
        bytes.append(contentsOf: utf8)
    }

    package mutating func raw(_ buffer: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: buffer)
    }
}
