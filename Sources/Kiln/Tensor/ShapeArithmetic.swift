import Foundation

/// Errors about tensor shapes and element counts.
public enum ShapeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A dimension was negative.
    case negativeDimension(shape: [Int])
    /// The element count or byte count does not fit in an `Int`.
    case overflow(shape: [Int])
    /// The number of scalars given does not match the shape.
    case scalarCountMismatch(shape: [Int], expected: Int, actual: Int)
    /// A typed accessor was used with the wrong element type.
    case dtypeMismatch(expected: DType, actual: DType)
    /// A tensor to be allocated is larger than this machine's memory.
    case exceedsMemory(shape: [Int], bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .negativeDimension(let shape): return "shape \(shape) has a negative dimension"
        case .overflow(let shape): return "shape \(shape) is too large: its size overflows"
        case .scalarCountMismatch(let shape, let expected, let actual):
            return "shape \(shape) needs \(expected) scalars, got \(actual)"
        case .dtypeMismatch(let expected, let actual):
            return "tensor holds \(actual), not \(expected)"
        case .exceedsMemory(let shape, let bytes, let limit):
            return "a tensor of shape \(shape) needs \(bytes) bytes, more than the \(limit) bytes of memory this machine has"
        }
    }
}

/// Shape helpers shared by tensors, the format reader and the kernels.
public enum ShapeArithmetic {
    /// Product of the dims, checked for negative dims and overflow.
    public static func elementCount(_ shape: [Int]) throws(ShapeError) -> Int {
        var count = 1
        for dim in shape {
            guard dim >= 0 else { throw .negativeDimension(shape: shape) }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw .overflow(shape: shape) }
            count = product
        }
        return count
    }

    /// Bytes needed for `shape` of `dtype`, checked for overflow.
    public static func byteCount(_ shape: [Int], dtype: DType) throws(ShapeError) -> Int {
        let count = try elementCount(shape)
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else { throw .overflow(shape: shape) }
        return bytes
    }

    /// The largest tensor Kiln will allocate: the machine's physical memory. Sizes come from models
    /// and requests, and an allocation that cannot succeed must be an error, not a trap.
    public static let allocationLimit = Int(clamping: ProcessInfo.processInfo.physicalMemory)

    /// Bytes needed for a new tensor of `shape` and `dtype`, checked against ``allocationLimit``.
    public static func allocatableByteCount(_ shape: [Int], dtype: DType) throws(ShapeError) -> Int {
        let bytes = try byteCount(shape, dtype: dtype)
        guard bytes <= allocationLimit else { throw .exceedsMemory(shape: shape, bytes: bytes, limit: allocationLimit) }
        return bytes
    }

    /// Row-major strides in elements.
    @inlinable
    public static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running &*= shape[axis]
        }
        return strides
    }
}
