/// One dimension of a declared tensor shape: a concrete size or a named symbol such as `batch`.
///
/// Symbolic dimensions are bound to concrete sizes when a session runs; every occurrence of the same
/// symbol in a graph's inputs must bind to the same size.
public enum Dim: Sendable, Hashable, CustomStringConvertible, ExpressibleByIntegerLiteral,
    ExpressibleByStringLiteral
{
    case fixed(Int)
    case symbolic(String)

    public init(integerLiteral value: Int) { self = .fixed(value) }
    public init(stringLiteral value: String) { self = .symbolic(value) }

    /// The concrete size, or nil for a symbol.
    @inlinable
    public var value: Int? {
        if case .fixed(let size) = self { return size }
        return nil
    }

    public var description: String {
        switch self {
        case .fixed(let size): return String(size)
        case .symbolic(let name): return name
        }
    }
}

/// Static type of a graph value: element type and a shape that may be partly symbolic or unknown.
public struct TensorType: Sendable, Hashable, CustomStringConvertible {
    public var dtype: DType
    /// The dims, or nil when not even the rank is known.
    public var shape: [Dim]?

    public init(_ dtype: DType, _ shape: [Dim]?) {
        self.dtype = dtype
        self.shape = shape
    }

    /// Rank, when known.
    public var rank: Int? { shape?.count }

    /// The shape as concrete sizes when every dim is fixed.
    public var concreteShape: [Int]? {
        guard let shape else { return nil }
        var sizes: [Int] = []
        sizes.reserveCapacity(shape.count)
        for dim in shape {
            guard let size = dim.value else { return nil }
            sizes.append(size)
        }
        return sizes
    }

    public var description: String {
        guard let shape else { return "\(dtype)[?]" }
        return "\(dtype)[\(shape.map(\.description).joined(separator: ", "))]"
    }
}

extension Array where Element == Dim {
    /// Dims from concrete sizes.
    public init(_ sizes: [Int]) { self = sizes.map { .fixed($0) } }
}
