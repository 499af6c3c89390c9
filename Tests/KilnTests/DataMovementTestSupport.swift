import Kiln
import Testing

/// Helpers shared by the shape and data-movement operator tests.
enum DataMovement {
    /// Sizes around zero, one and SIMD widths, as the project asks every kernel to be tested over.
    static let edgeSizes = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33]

    /// Every dtype, so byte-moving kernels are checked for 1, 2, 4 and 8-byte elements.
    static let allDTypes: [DType] = [.float32, .float16, .int64, .int32, .int8, .uint8, .bool]

    /// A deterministic tensor of distinct-looking values (not all zero, so misplaced bytes show).
    static func tensor(_ dtype: DType, _ shape: [Int], seed: UInt64 = 1) throws -> Tensor {
        let count = shape.reduce(1, *)
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x1234_5678
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: state >> 33)
        }
        switch dtype {
        case .float32: return try Tensor(shape: shape, scalars: (0..<count).map { _ in Float(next() % 2001 - 1000) / 8 })
        case .float16: return try Tensor(shape: shape, scalars: (0..<count).map { _ in Float16(Float(next() % 2001 - 1000) / 8) })
        case .int64: return try Tensor(shape: shape, scalars: (0..<count).map { _ in Int64(next()) << 20 | Int64(next() % 1000) })
        case .int32: return try Tensor(shape: shape, scalars: (0..<count).map { _ in Int32(truncatingIfNeeded: next()) })
        case .int8: return try Tensor(shape: shape, scalars: (0..<count).map { _ in Int8(truncatingIfNeeded: next()) })
        case .uint8: return try Tensor(shape: shape, scalars: (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) })
        case .bool: return try Tensor(shape: shape, scalars: (0..<count).map { _ in next() % 2 == 0 })
        }
    }

    /// 0, 1, 2, ... as float32, so expected values can be worked out by hand from positions.
    static func iota(_ shape: [Int]) throws -> Tensor {
        try Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { Float($0) })
    }

    static func int64s(_ values: [Int], shape: [Int]? = nil) throws -> Tensor {
        try Tensor(shape: shape ?? [values.count], scalars: values.map { Int64($0) })
    }

    static func int32s(_ values: [Int], shape: [Int]? = nil) throws -> Tensor {
        try Tensor(shape: shape ?? [values.count], scalars: values.map { Int32($0) })
    }

    /// The raw bytes, for exact comparison whatever the dtype.
    static func bytes(_ tensor: Tensor) -> [UInt8] {
        tensor.withUnsafeBytes { Array($0) }
    }

    /// Elements as raw byte groups, one array per element.
    static func elements(_ tensor: Tensor) -> [[UInt8]] {
        let size = tensor.dtype.byteSize
        let all = bytes(tensor)
        return (0..<tensor.count).map { Array(all[($0 * size)..<(($0 + 1) * size)]) }
    }

    /// A tensor of `dtype` and `shape` whose elements are the given byte groups.
    static func tensor(_ dtype: DType, _ shape: [Int], elements: [[UInt8]]) throws -> Tensor {
        let flat = elements.flatMap { $0 }
        return try flat.withUnsafeBytes { try Tensor(dtype: dtype, shape: shape, bytes: $0) }
    }

    /// Row-major coordinates of a linear index.
    static func coordinates(of linear: Int, in shape: [Int]) -> [Int] {
        var remaining = linear
        var result = [Int](repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() {
            result[axis] = remaining % shape[axis]
            remaining /= shape[axis]
        }
        return result
    }

    /// Linear index of coordinates.
    static func linear(_ coordinates: [Int], in shape: [Int]) -> Int {
        zip(coordinates, shape).reduce(0) { $0 * $1.1 + $1.0 }
    }

    /// An operator of type `Op` for a node with the given attributes and input count.
    static func op<Op: Operator>(_ type: Op.Type, inputs: Int, outputs: Int = 1, attributes: [String: Attribute] = [:],
                                 opset: Int = Graph.defaultOpset) throws -> Op {
        let node = Node(name: "node", opType: Op.opType, inputs: (0..<inputs).map { "in\($0)" },
                        outputs: (0..<outputs).map { "out\($0)" }, attributes: attributes)
        return try Op(node: node, opset: opset)
    }

    /// Runs `op` with a single thread and with two, checks both agree, and returns the outputs.
    static func run(_ op: some Operator, _ inputs: [Tensor?]) throws -> [Tensor] {
        let single = try op.run(inputs, context: ExecutionContext(threads: 1))
        let parallel = try op.run(inputs, context: ExecutionContext(threads: 2))
        #expect(single.map(bytes) == parallel.map(bytes), "results differ between one and two threads")
        return single
    }

    /// Output types inferred from inputs given as types (and optional constants).
    static func infer(_ op: some Operator, _ inputs: [InferenceInput]) throws -> [TensorType] {
        var symbols = SymbolGenerator()
        return try op.inferTypes(inputs, symbols: &symbols)
    }

    /// An inference input that is a known constant.
    static func constant(_ tensor: Tensor) -> InferenceInput {
        InferenceInput(type: TensorType(tensor.dtype, [Dim](tensor.shape)), constant: tensor)
    }

    /// The message of the `OperatorError` that `body` throws, or nil.
    static func operatorError(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as OperatorError {
            return error.message
        } catch {
            return "unexpected error type: \(error)"
        }
    }
}

extension Dim {
    /// True for symbols minted by inference (`unk_N`).
    var isFresh: Bool {
        if case .symbolic(let name) = self { return name.hasPrefix("unk_") }
        return false
    }
}
