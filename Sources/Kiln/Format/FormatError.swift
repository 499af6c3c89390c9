/// A `.kiln` format version, `major.minor`.
public struct FormatVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Changes when older readers cannot read the file at all.
    public var major: Int
    /// Changes when a file adds only what older readers of the same major can skip.
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// The version this library reads and writes.
    public static let current = FormatVersion(major: 1, minor: 2)

    public static func < (lhs: FormatVersion, rhs: FormatVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }

    public var description: String { "\(major).\(minor)" }
}

/// Why a `.kiln` file could not be read or written. Each case names the section and, where there is
/// one, the absolute byte offset in the file at fault.
public enum FormatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file does not start with the `.kiln` magic bytes.
    case badMagic
    /// The file was written by a newer major version of the format.
    case unsupportedMajorVersion(found: FormatVersion, supported: FormatVersion)
    /// The file uses a required feature (header flag or section kind) this reader does not know.
    case unsupportedFeature(found: FormatVersion, supported: FormatVersion, feature: String)
    /// A read needed more bytes than the section (or file) has left.
    case truncated(section: String, offset: Int, needed: Int, available: Int)
    /// The bytes of a section do not match its checksum.
    case checksumMismatch(section: String)
    /// A value read from the file is out of range or inconsistent.
    case invalidValue(section: String, offset: Int, reason: String)
    /// A required section is absent.
    case missingSection(String)
    /// A section kind appears twice.
    case duplicateSection(String)
    /// A model cannot be written: something is too large for the format's fields.
    case tooLarge(what: String)
    /// A model cannot be written: it holds a value no reader would accept (e.g. a negative dim).
    case unwritable(reason: String)
    /// The file could not be opened, mapped or written.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .badMagic:
            return "not a .kiln file: the magic bytes are wrong (or the file went through a text-mode transfer)"
        case .unsupportedMajorVersion(let found, let supported):
            let advice = found > supported ? "upgrade Kiln to load it" : "convert the model again with this Kiln"
            return "the file is format version \(found), but this Kiln reads format \(supported.major).x (up to \(supported)); \(advice)"
        case .unsupportedFeature(let found, let supported, let feature):
            return "the file (format \(found)) requires \(feature), which this Kiln (format \(supported)) does not support"
        case .truncated(let section, let offset, let needed, let available):
            return "\(section) is truncated at byte \(offset): needed \(needed) bytes, \(available) left"
        case .checksumMismatch(let section):
            return "\(section) is corrupt: its checksum does not match"
        case .invalidValue(let section, let offset, let reason):
            return "\(section), byte \(offset): \(reason)"
        case .missingSection(let section):
            return "the file has no \(section) section"
        case .duplicateSection(let section):
            return "the file has more than one \(section) section"
        case .tooLarge(let what):
            return "cannot write the model: \(what) is too large for the .kiln format"
        case .unwritable(let reason):
            return "cannot write the model: \(reason)"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
