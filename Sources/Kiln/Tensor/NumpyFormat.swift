import Foundation

/// Why a `.npy` file could not be read or written. Each case says what was found.
public enum NpyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bytes do not start with `\x93NUMPY`.
    case notNpy
    case unsupportedVersion(major: Int, minor: Int)
    /// The file ends inside `what` (the preamble, the header or the data).
    case truncated(what: String, needed: Int, available: Int)
    /// The header is not the Python dict literal the format specifies.
    case malformedHeader(reason: String)
    /// The array's dtype (its `descr`) is not one Kiln reads.
    case unsupportedDType(descr: String, reason: String)
    /// The array is stored in Fortran (column-major) order.
    case fortranOrder
    case invalidShape(shape: String, reason: String)
    /// Bytes follow the array data.
    case trailingBytes(count: Int)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .notNpy: return "not a .npy file: it does not start with \\x93NUMPY"
        case .unsupportedVersion(let major, let minor):
            return ".npy format version \(major).\(minor) is not supported (1.0, 2.0 and 3.0 are)"
        case .truncated(let what, let needed, let available):
            return ".npy \(what) is truncated: needs \(needed) bytes, \(available) available"
        case .malformedHeader(let reason): return ".npy header is malformed: \(reason)"
        case .unsupportedDType(let descr, let reason): return ".npy dtype '\(descr)' is not supported: \(reason)"
        case .fortranOrder:
            return ".npy array is in Fortran order; only C order is supported (save np.ascontiguousarray(a))"
        case .invalidShape(let shape, let reason): return ".npy shape \(shape) is invalid: \(reason)"
        case .trailingBytes(let count): return ".npy file has \(count) bytes after the array data"
        case .io(let path, let reason): return "\(path): \(reason)"
        }
    }
}

/// NumPy's `.npy` format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
/// versions 1.0, 2.0 and 3.0, little-endian, C order, the dtypes Kiln has.
extension Tensor {
    /// Reads a tensor from the bytes of a `.npy` file.
    /// - Throws: ``NpyError`` naming what was wrong (dtype, byte order, order, size, header).
    public init(npyData bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { try NpyFormat.decode($0) }
    }

    /// Reads a tensor from a `.npy` file.
    /// - Throws: ``NpyError``.
    public init(npyContentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw NpyError.io(path: url.path, reason: error.localizedDescription)
        }
        self = try data.withUnsafeBytes { try NpyFormat.decode($0) }
    }

    /// The tensor as the bytes of a `.npy` file, laid out as `numpy.save` writes it (version 1.0,
    /// or 2.0 when the header would not fit).
    public func npyData() -> [UInt8] {
        var bytes = NpyFormat.header(dtype: dtype, shape: shape)
        withUnsafeBytes { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Writes the tensor to a `.npy` file (atomically).
    /// - Throws: ``NpyError/io(path:reason:)``.
    public func writeNpy(to url: URL) throws {
        do {
            try Data(npyData()).write(to: url, options: .atomic)
        } catch {
            throw NpyError.io(path: url.path, reason: error.localizedDescription)
        }
    }
}

package enum NpyFormat {
    private static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    /// numpy pads header + preamble to a multiple of 64 so the data is aligned.
    private static let alignment = 64
    /// numpy leaves room to grow the first axis to 21 digits in place; matching it makes our output
    /// byte-identical to `numpy.save`.
    private static let growthDigits = 21

    package static func descr(_ dtype: DType) -> String {
        switch dtype {
        case .float32: return "<f4"
        case .float16: return "<f2"
        case .int64: return "<i8"
        case .int32: return "<i4"
        case .int8: return "|i1"
        case .uint8: return "|u1"
        case .bool: return "|b1"
        }
    }

    package static func header(dtype: DType, shape: [Int]) -> [UInt8] {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var dict = "{'descr': '\(descr(dtype))', 'fortran_order': False, 'shape': \(shapeText), }"
        if let first = shape.first { dict += String(repeating: " ", count: max(0, growthDigits - String(first).count)) }
        for (major, lengthSize) in [(1, 2), (2, 4)] {
            let unpadded = magic.count + 2 + lengthSize + dict.utf8.count + 1
            let padded = (unpadded + alignment - 1) / alignment * alignment
            let headerLength = padded - magic.count - 2 - lengthSize
            guard lengthSize == 4 || headerLength <= Int(UInt16.max) else { continue }
            var bytes = magic + [UInt8(major), 0]
            for index in 0..<lengthSize { bytes.append(UInt8(truncatingIfNeeded: headerLength >> (8 * index))) }
            bytes += Array(dict.utf8) + [UInt8](repeating: 0x20, count: padded - unpadded) + [0x0A]
            return bytes
        }
        return []  // unreachable: version 2.0 always fits
    }

    package static func decode(_ file: UnsafeRawBufferPointer) throws(NpyError) -> Tensor {
        let prefix = min(file.count, magic.count)
        guard file.prefix(prefix).elementsEqual(magic.prefix(prefix)) else { throw .notNpy }
        guard file.count >= magic.count + 2 else {
            throw .truncated(what: "preamble", needed: magic.count + 2, available: file.count)
        }
        let major = Int(file[6]), minor = Int(file[7])
        guard (1...3).contains(major), minor == 0 else { throw .unsupportedVersion(major: major, minor: minor) }
        let lengthSize = major == 1 ? 2 : 4
        let headerStart = 8 + lengthSize
        guard file.count >= headerStart else { throw .truncated(what: "preamble", needed: headerStart, available: file.count) }
        var headerLength = 0
        for index in 0..<lengthSize { headerLength |= Int(file[8 + index]) << (8 * index) }
        guard headerLength <= file.count - headerStart else {
            throw .truncated(what: "header", needed: headerLength, available: file.count - headerStart)
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: file[headerStart..<(headerStart + headerLength)])
        var parser = PythonLiteralParser(headerBytes, utf8: major == 3)
        let header = try parser.parseHeader()
        guard let dtype = try dtype(forDescr: header.descr) else {
            throw .unsupportedDType(descr: header.descr, reason: "Kiln reads float32, float16, int64, int32, int8, uint8 and bool")
        }
        if header.fortranOrder { throw .fortranOrder }
        let shapeText = "(" + header.shape.map(String.init).joined(separator: ", ") + ")"
        let byteCount: Int
        do {
            byteCount = try ShapeArithmetic.byteCount(header.shape, dtype: dtype)
        } catch {
            throw .invalidShape(shape: shapeText, reason: "\(error)")
        }
        let dataStart = headerStart + headerLength
        let available = file.count - dataStart
        guard byteCount <= available else { throw .truncated(what: "data of shape \(shapeText) \(dtype)", needed: byteCount, available: available) }
        guard byteCount == available else { throw .trailingBytes(count: available - byteCount) }
        do {
            return try Tensor(dtype: dtype, shape: header.shape, bytes: UnsafeRawBufferPointer(rebasing: file[dataStart...]))
        } catch {
            throw .invalidShape(shape: shapeText, reason: "\(error)")
        }
    }

    /// The Kiln dtype of a numpy `descr`, or nil for a dtype Kiln does not have; throws for byte
    /// orders it cannot read.
    private static func dtype(forDescr descr: String) throws(NpyError) -> DType? {
        let order = descr.first
        let code = String(descr.dropFirst())
        let byType: [String: DType] = ["f4": .float32, "f2": .float16, "i8": .int64, "i4": .int32,
                                       "i1": .int8, "u1": .uint8, "b1": .bool]
        guard let order, "<>|=".contains(order) else {
            throw .unsupportedDType(descr: descr, reason: "expected a byte-order character (<, >, | or =) then a type code")
        }
        guard let dtype = byType[code] else {
            let hints = ["f8": "float64: convert with a.astype(np.float32)", "O": "object arrays cannot be read",
                         "U": "unicode strings cannot be read", "S": "byte strings cannot be read"]
            let hint = hints[code] ?? hints[String(code.prefix(1))] ?? "Kiln reads <f4, <f2, <i8, <i4, |i1, |u1 and |b1"
            throw .unsupportedDType(descr: descr, reason: hint)
        }
        if dtype.byteSize == 1 {
            guard order == "|" || order == "<" else {
                throw .unsupportedDType(descr: descr, reason: "expected '|' or '<' for a one-byte type")
            }
        } else if order != "<" {
            throw .unsupportedDType(descr: descr, reason: order == ">" ? "big-endian data is not supported" :
                                        "byte order '\(order)' is not little-endian")
        }
        return dtype
    }
}

/// The subset of Python literal syntax a `.npy` header uses: a dict of string keys to strings,
/// booleans, integers and tuples (lists and nested dicts are parsed so they can be reported).
private struct PythonLiteralParser {
    indirect enum Value {
        case string(String)
        case bool(Bool)
        case none
        case integer(Int)
        case tuple([Value])
        case list([Value])
        case dict([(String, Value)])
    }

    struct Header {
        var descr: String
        var fortranOrder: Bool
        var shape: [Int]
    }

    private let bytes: UnsafeRawBufferPointer
    private let utf8: Bool
    private var position = 0
    private var depth = 0
    /// Deep nesting is no valid header; the limit keeps hostile input from exhausting the stack.
    private static let maximumDepth = 32

    init(_ bytes: UnsafeRawBufferPointer, utf8: Bool) {
        self.bytes = bytes
        self.utf8 = utf8
    }

    private func fail(_ reason: String) -> NpyError {
        .malformedHeader(reason: "\(reason) at header byte \(position)")
    }

    mutating func parseHeader() throws(NpyError) -> Header {
        guard case .dict(let entries) = try parseValue() else { throw .malformedHeader(reason: "the header is not a dict") }
        skipWhitespace()
        guard position == bytes.count else { throw fail("unexpected text after the dict") }
        var descr: String?, fortranOrder: Bool?, shape: [Int]?
        for (key, value) in entries {
            switch (key, value) {
            case ("descr", .string(let text)):
                guard descr == nil else { throw .malformedHeader(reason: "key 'descr' appears twice") }
                descr = text
            case ("descr", _):
                throw .unsupportedDType(descr: "\(value)", reason: "structured (record) dtypes are not supported")
            case ("fortran_order", .bool(let flag)):
                guard fortranOrder == nil else { throw .malformedHeader(reason: "key 'fortran_order' appears twice") }
                fortranOrder = flag
            case ("shape", .tuple(let dims)):
                guard shape == nil else { throw .malformedHeader(reason: "key 'shape' appears twice") }
                var sizes: [Int] = []
                for dim in dims {
                    guard case .integer(let size) = dim else { throw .malformedHeader(reason: "shape holds a non-integer") }
                    sizes.append(size)
                }
                shape = sizes
            case ("fortran_order", _), ("shape", _):
                throw .malformedHeader(reason: "key '\(key)' has the wrong type")
            default:
                throw .malformedHeader(reason: "unexpected key '\(key)'")
            }
        }
        guard let descr else { throw .malformedHeader(reason: "key 'descr' is missing") }
        guard let fortranOrder else { throw .malformedHeader(reason: "key 'fortran_order' is missing") }
        guard let shape else { throw .malformedHeader(reason: "key 'shape' is missing") }
        return Header(descr: descr, fortranOrder: fortranOrder, shape: shape)
    }

    private mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[position]) { position += 1 }
    }

    private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func expect(_ byte: UInt8) throws(NpyError) {
        skipWhitespace()
        guard peek() == byte else { throw fail("expected '\(Character(Unicode.Scalar(byte)))'") }
        position += 1
    }

    private mutating func parseValue() throws(NpyError) -> Value {
        skipWhitespace()
        guard let first = peek() else { throw fail("unexpected end") }
        switch first {
        case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "{"):
            let entries = try parseSequence(open: "{", close: "}") { (parser: inout PythonLiteralParser) throws(NpyError) -> (String, Value) in
                parser.skipWhitespace()
                guard case .string(let key) = try parser.parseValue() else { throw parser.fail("dict keys must be strings") }
                try parser.expect(UInt8(ascii: ":"))
                return (key, try parser.parseValue())
            }
            return .dict(entries)
        case UInt8(ascii: "("):
            return .tuple(try parseSequence(open: "(", close: ")") { (parser: inout PythonLiteralParser) throws(NpyError) in try parser.parseValue() })
        case UInt8(ascii: "["):
            return .list(try parseSequence(open: "[", close: "]") { (parser: inout PythonLiteralParser) throws(NpyError) in try parser.parseValue() })
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .integer(try parseInteger())
        default:
            let start = position
            while let byte = peek(), (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) {
                position += 1
            }
            switch String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self) {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            default:
                position = start
                throw fail("unexpected character")
            }
        }
    }

    /// `open` item (`,` item)* `,`? `close`.
    private mutating func parseSequence<Item>(open: Character, close: Character,
                                              item: (inout PythonLiteralParser) throws(NpyError) -> Item) throws(NpyError) -> [Item] {
        guard depth < PythonLiteralParser.maximumDepth else { throw fail("nesting is too deep") }
        depth += 1
        defer { depth -= 1 }
        let closeByte = close.asciiValue ?? 0
        try expect(open.asciiValue ?? 0)
        var items: [Item] = []
        while true {
            skipWhitespace()
            if peek() == closeByte {
                position += 1
                return items
            }
            items.append(try item(&self))
            skipWhitespace()
            if peek() == UInt8(ascii: ",") {
                position += 1
            } else {
                try expect(closeByte)
                return items
            }
        }
    }

    private mutating func parseString() throws(NpyError) -> String {
        let quote = bytes[position]
        position += 1
        var content: [UInt8] = []
        while let byte = peek() {
            position += 1
            if byte == quote {
                if utf8 {
                    guard let text = String(validating: content, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
                    return text
                }
                // Versions 1.0 and 2.0 are latin-1.
                return String(String.UnicodeScalarView(content.map { Unicode.Scalar($0) }))
            }
            if byte == UInt8(ascii: "\\") {
                guard let escaped = peek() else { break }
                position += 1
                content.append(escaped)
            } else {
                content.append(byte)
            }
        }
        throw fail("unterminated string")
    }

    private mutating func parseInteger() throws(NpyError) -> Int {
        let negative = peek() == UInt8(ascii: "-")
        if negative { position += 1 }
        var value = 0
        var digits = 0
        while let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw fail("integer is too large") }
            value = sum
            digits += 1
            position += 1
        }
        guard digits > 0 else { throw fail("expected digits") }
        // Python 2 wrote long integers with an L suffix, e.g. (3L,).
        if peek() == UInt8(ascii: "L") { position += 1 }
        return negative ? -value : value
    }
}
