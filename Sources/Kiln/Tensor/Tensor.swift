/// A dense, row-major, immutable n-dimensional array.
///
/// A tensor's bytes are either owned or borrowed from a memory-mapped model file, in which case
/// using the tensor costs no copy. Copies of a `Tensor` value share their bytes.
public struct Tensor: Sendable, CustomStringConvertible {
    public let dtype: DType
    public let shape: [Int]
    /// Number of elements (the product of `shape`).
    public let count: Int
    package let storage: TensorStorage

    /// Wraps existing storage. `storage` must hold at least `count * dtype.byteSize` bytes.
    package init(dtype: DType, shape: [Int], count: Int, storage: TensorStorage) {
        assert(storage.byteCount >= count * dtype.byteSize)
        self.dtype = dtype
        self.shape = shape
        self.count = count
        self.storage = storage
    }

    /// Creates a tensor holding `scalars` in row-major order.
    /// - Parameters:
    ///   - shape: The dims; their product must equal `scalars.count`.
    ///   - scalars: The elements.
    /// - Throws: ``ShapeError`` when the shape is invalid or does not match the scalar count.
    public init<Scalar: TensorScalar>(shape: [Int], scalars: [Scalar]) throws {
        let count = try ShapeArithmetic.elementCount(shape)
        guard count == scalars.count else {
            throw ShapeError.scalarCountMismatch(shape: shape, expected: count, actual: scalars.count)
        }
        let storage = Tensor.storage(byteCount: count * Scalar.dtype.byteSize)
        scalars.withUnsafeBytes { source in
            if let base = source.baseAddress { storage.bytes.copyMemory(from: base, byteCount: source.count) }
        }
        self.init(dtype: Scalar.dtype, shape: shape, count: count, storage: storage)
    }

    /// Creates a rank-0 tensor.
    public init<Scalar: TensorScalar>(scalar: Scalar) {
        let storage = Tensor.storage(byteCount: Scalar.dtype.byteSize)
        storage.bytes.storeBytes(of: scalar, as: Scalar.self)
        self.init(dtype: Scalar.dtype, shape: [], count: 1, storage: storage)
    }

    /// Creates a tensor of zeros (false for bool).
    public init(zeros dtype: DType, shape: [Int]) throws {
        let byteCount = try ShapeArithmetic.allocatableByteCount(shape, dtype: dtype)
        let storage = Tensor.storage(byteCount: byteCount)
        storage.bytes.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        self.init(dtype: dtype, shape: shape, count: byteCount / dtype.byteSize, storage: storage)
    }

    /// Creates a tensor from raw little-endian bytes (copied).
    /// - Throws: ``ShapeError`` when `bytes.count` is not the size the shape and dtype need.
    public init(dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer) throws {
        let byteCount = try ShapeArithmetic.byteCount(shape, dtype: dtype)
        guard byteCount == bytes.count else {
            throw ShapeError.scalarCountMismatch(
                shape: shape, expected: byteCount / max(dtype.byteSize, 1), actual: bytes.count / dtype.byteSize)
        }
        let storage = Tensor.storage(byteCount: byteCount)
        if let base = bytes.baseAddress { storage.bytes.copyMemory(from: base, byteCount: byteCount) }
        if dtype == .bool { Tensor.normalizeBools(storage.bytes, count: byteCount) }
        self.init(dtype: dtype, shape: shape, count: byteCount / dtype.byteSize, storage: storage)
    }

    /// An uninitialized tensor for a kernel to fill. Internal: every byte must be written before use.
    package static func uninitialized(_ dtype: DType, shape: [Int]) throws(ShapeError) -> Tensor {
        let byteCount = try ShapeArithmetic.allocatableByteCount(shape, dtype: dtype)
        return Tensor(dtype: dtype, shape: shape, count: byteCount / dtype.byteSize, storage: storage(byteCount: byteCount))
    }

    /// Bytes for a new tensor: during a planned session run a block of the run's arena (see
    /// ``RunAllocator``), so an operator that builds its output from values (`Shape`, `Range`,
    /// `ConstantOfShape`...) does not put it on the heap either; otherwise the heap.
    private static func storage(byteCount: Int) -> TensorStorage {
        RunAllocator.current?.storage(byteCount: byteCount) ?? TensorStorage(uninitializedByteCount: byteCount)
    }

    /// Rank (number of dims).
    public var rank: Int { shape.count }

    /// Size in bytes of the elements.
    public var byteCount: Int { count * dtype.byteSize }

    /// True when the bytes are borrowed from a memory-mapped file rather than owned.
    public var isMemoryMapped: Bool { storage.isBorrowed }

    /// The elements as a Swift array.
    /// - Throws: ``ShapeError/dtypeMismatch(expected:actual:)`` when `Scalar` is not this tensor's type.
    public func scalars<Scalar: TensorScalar>(as type: Scalar.Type = Scalar.self) throws -> [Scalar] {
        guard Scalar.dtype == dtype else { throw ShapeError.dtypeMismatch(expected: Scalar.dtype, actual: dtype) }
        let typed = storage.bytes.bindMemory(to: Scalar.self, capacity: count)
        return Array(UnsafeBufferPointer(start: typed, count: count))
    }

    /// The elements converted to `Float` (for any numeric dtype; bool gives 0 or 1).
    public func floats() -> [Float] {
        var result = [Float](repeating: 0, count: count)
        result.withUnsafeMutableBufferPointer { out in
            Tensor.convert(from: storage.bytes, dtype: dtype, toFloats: out.baseAddress!, count: count)
        }
        return result
    }

    /// The elements converted to `Int64` (floats truncate toward zero).
    public func int64s() -> [Int64] {
        let raw = UnsafeRawPointer(storage.bytes)
        return (0..<count).map { index -> Int64 in
            switch dtype {
            case .float32: return Int64(exactly: raw.load(fromByteOffset: index * 4, as: Float.self).rounded(.towardZero)) ?? 0
            case .float16: return Int64(exactly: Float(raw.load(fromByteOffset: index * 2, as: Float16.self)).rounded(.towardZero)) ?? 0
            case .int64: return raw.load(fromByteOffset: index * 8, as: Int64.self)
            case .int32: return Int64(raw.load(fromByteOffset: index * 4, as: Int32.self))
            case .int8: return Int64(raw.load(fromByteOffset: index, as: Int8.self))
            case .uint8, .bool: return Int64(raw.load(fromByteOffset: index, as: UInt8.self))
            }
        }
    }

    /// Read-only access to the raw bytes.
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: storage.bytes, count: byteCount))
    }

    /// Typed read-only access for kernels. The caller has checked the dtype.
    package func withUnsafePointer<Scalar, Result>(
        as type: Scalar.Type, _ body: (UnsafePointer<Scalar>) throws -> Result
    ) rethrows -> Result {
        try body(UnsafePointer(storage.bytes.assumingMemoryBound(to: Scalar.self)))
    }

    /// Typed write access for kernels filling a tensor they just allocated.
    package func withUnsafeMutablePointer<Scalar, Result>(
        as type: Scalar.Type, _ body: (UnsafeMutablePointer<Scalar>) throws -> Result
    ) rethrows -> Result {
        assert(!storage.isBorrowed, "kernels must not write to borrowed (mapped) storage")
        return try body(storage.bytes.assumingMemoryBound(to: Scalar.self))
    }

    /// A tensor sharing these bytes with another shape of the same element count (used by Reshape,
    /// Flatten, Squeeze, Unsqueeze: no copy).
    package func reshaped(to newShape: [Int]) -> Tensor {
        Tensor(dtype: dtype, shape: newShape, count: count, storage: storage)
    }

    public var description: String {
        let preview = floats().prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor<\(dtype)>\(shape) [\(preview)\(count > 8 ? ", ..." : "")]"
    }

    /// Bool tensors read from outside may hold any byte; Swift's `Bool` must be 0 or 1.
    package static func normalizeBools(_ bytes: UnsafeMutableRawPointer, count: Int) {
        let typed = bytes.assumingMemoryBound(to: UInt8.self)
        for index in 0..<count where typed[index] > 1 { typed[index] = 1 }
    }

    package static func convert(from source: UnsafeRawPointer, dtype: DType,
                                toFloats out: UnsafeMutablePointer<Float>, count: Int) {
        switch dtype {
        case .float32: out.update(from: source.assumingMemoryBound(to: Float.self), count: count)
        case .float16:
            let typed = source.assumingMemoryBound(to: Float16.self)
            for index in 0..<count { out[index] = Float(typed[index]) }
        case .int64:
            let typed = source.assumingMemoryBound(to: Int64.self)
            for index in 0..<count { out[index] = Float(typed[index]) }
        case .int32:
            let typed = source.assumingMemoryBound(to: Int32.self)
            for index in 0..<count { out[index] = Float(typed[index]) }
        case .int8:
            let typed = source.assumingMemoryBound(to: Int8.self)
            for index in 0..<count { out[index] = Float(typed[index]) }
        case .uint8, .bool:
            let typed = source.assumingMemoryBound(to: UInt8.self)
            for index in 0..<count { out[index] = Float(typed[index]) }
        }
    }
}
