/// The element type of a tensor.
///
/// Raw values are part of the `.kiln` format (see Docs/FORMAT.md) and never change.
public enum DType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case float32 = 1
    case float16 = 2
    case int64 = 3
    case int32 = 4
    case int8 = 5
    case uint8 = 6
    /// One byte per element, 0 or 1.
    case bool = 7

    /// Bytes per element.
    @inlinable
    public var byteSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float16: return 2
        case .int64: return 8
        case .int8, .uint8, .bool: return 1
        }
    }

    /// True for float32 and float16.
    public var isFloatingPoint: Bool { self == .float32 || self == .float16 }

    /// True for the signed and unsigned integer types (not bool).
    public var isInteger: Bool {
        switch self {
        case .int64, .int32, .int8, .uint8: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .float32: return "float32"
        case .float16: return "float16"
        case .int64: return "int64"
        case .int32: return "int32"
        case .int8: return "int8"
        case .uint8: return "uint8"
        case .bool: return "bool"
        }
    }

    /// Parses the names printed by `description` (as used by the CLI and JSON output).
    public init?(name: String) {
        guard let match = DType.allCases.first(where: { $0.description == name }) else { return nil }
        self = match
    }
}

/// A Swift type that can be the element type of a ``Tensor``.
public protocol TensorScalar: Sendable {
    /// The dtype that stores values of this type.
    static var dtype: DType { get }
}

extension Float: TensorScalar { public static var dtype: DType { .float32 } }
extension Float16: TensorScalar { public static var dtype: DType { .float16 } }
extension Int64: TensorScalar { public static var dtype: DType { .int64 } }
extension Int32: TensorScalar { public static var dtype: DType { .int32 } }
extension Int8: TensorScalar { public static var dtype: DType { .int8 } }
extension UInt8: TensorScalar { public static var dtype: DType { .uint8 } }
extension Bool: TensorScalar { public static var dtype: DType { .bool } }
