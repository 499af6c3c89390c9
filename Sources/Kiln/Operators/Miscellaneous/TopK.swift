/// `TopK`: the `k` largest (or, with `largest` = 0, smallest) elements along `axis` (default -1) and
/// their int64 indices, best first. Equal values keep index order; NaN ranks with +infinity.
/// `k` is an int64 input of one element from opset 10, an attribute before.
package struct TopK: Operator {
    package static let opType = "TopK"

    let axis: Int
    let largest: Bool
    let kAttribute: Int?

    package init(node: Node, opset: Int) throws {
        if opset < 10 {
            try node.expectArity(inputs: 1...1, outputs: 2...2)
            guard let k = try node.int("k") else { throw OperatorError("attribute 'k' is required before opset 10") }
            kAttribute = k
        } else {
            try node.expectArity(inputs: 2...2, outputs: 2...2)
            kAttribute = nil
        }
        axis = try node.int("axis", default: -1)
        largest = try node.int("largest", default: 1) != 0
        // `sorted` = 0 allows any order; sorted output satisfies it.
    }

    private static let supported: Set<DType> = [.float32, .float16, .int64, .int32, .int8, .uint8]

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        guard TopK.supported.contains(data.dtype) else { throw OperatorError("TopK does not support \(data.dtype)") }
        guard var shape = data.shape else { return [TensorType(data.dtype, nil), TensorType(.int64, nil)] }
        let resolvedAxis = try ShapeInference.normalizeAxis(axis, rank: shape.count)
        if kAttribute == nil { try IndexValues.requireIntegerType(inputs, 1, name: "K") }
        if let k = kAttribute ?? inputs[1].constantIntegers.flatMap({ $0.count == 1 ? $0[0] : nil }) {
            try TopK.check(k: k, size: shape[resolvedAxis].value)
            shape[resolvedAxis] = .fixed(k)
        } else {
            shape[resolvedAxis] = symbols.fresh()
        }
        return [TensorType(data.dtype, shape), TensorType(.int64, shape)]
    }

    static func check(k: Int, size: Int?) throws {
        guard k >= 0 else { throw OperatorError("k \(k) must not be negative") }
        if let size, k > size { throw OperatorError("k \(k) is larger than the axis size \(size)") }
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "X")
        guard TopK.supported.contains(data.dtype) else { throw OperatorError("TopK does not support \(data.dtype)") }
        let k = try kAttribute ?? IndexValues.scalar(OperatorInput.required(inputs, 1, name: "K"), name: "K")
        let resolvedAxis = try ShapeInference.normalizeAxis(axis, rank: data.rank)
        let size = data.shape[resolvedAxis]
        try TopK.check(k: k, size: size)
        var outputShape = data.shape
        outputShape[resolvedAxis] = k
        let values = try Tensor.uninitialized(data.dtype, shape: outputShape)
        let indices = try Tensor.uninitialized(.int64, shape: outputShape)
        guard values.count > 0 else { return [values, indices] }
        let inner = data.shape[(resolvedAxis + 1)...].reduce(1, *)
        let outer = data.shape[..<resolvedAxis].reduce(1, *)
        let lanes = TopK.Lanes(outer: outer, size: size, inner: inner, k: k, largest: largest)
        switch data.dtype {
        case .float32: lanes.select(Float.self, data, values, indices, context: context) { $0.isNaN ? .infinity : $0 }
        case .float16: lanes.select(Float16.self, data, values, indices, context: context) { $0.isNaN ? .infinity : Float($0) }
        case .int64: lanes.select(Int64.self, data, values, indices, context: context) { $0 }
        case .int32: lanes.select(Int32.self, data, values, indices, context: context) { $0 }
        case .int8: lanes.select(Int8.self, data, values, indices, context: context) { $0 }
        default: lanes.select(UInt8.self, data, values, indices, context: context) { $0 }
        }
        return [values, indices]
    }

    /// The data viewed as `outer * inner` lanes of `size` elements, `inner` apart.
    struct Lanes {
        var outer: Int, size: Int, inner: Int, k: Int, largest: Bool

        /// Sorts each lane's positions by `key` (ties by position) and writes the first k.
        /// `key` maps NaN to +infinity, so NaN ranks with it and ties go by position.
        func select<T, Key: Comparable>(_ type: T.Type, _ data: Tensor, _ values: Tensor, _ indices: Tensor,
                                        context: ExecutionContext, key: (T) -> Key) {
            let (size, inner, k, largest) = (self.size, self.inner, self.k, self.largest)
            data.withUnsafePointer(as: T.self) { source in
                values.withUnsafeMutablePointer(as: T.self) { outputValues in
                    indices.withUnsafeMutablePointer(as: Int64.self) { outputIndices in
                        context.parallelFor(outer * inner, minimumChunk: max(1, 4096 / max(size, 1))) { range in
                            var order = [Int](repeating: 0, count: size)
                            var keys = [Key]()
                            keys.reserveCapacity(size)
                            for lane in range {
                                let base = (lane / inner) * size * inner + lane % inner
                                keys.removeAll(keepingCapacity: true)
                                for position in 0..<size {
                                    order[position] = position
                                    keys.append(key(source[base + position * inner]))
                                }
                                order.sort { a, b in
                                    if keys[a] != keys[b] { return largest ? keys[a] > keys[b] : keys[a] < keys[b] }
                                    return a < b
                                }
                                let outputBase = (lane / inner) * k * inner + lane % inner
                                for rank in 0..<k {
                                    outputValues[outputBase + rank * inner] = source[base + order[rank] * inner]
                                    outputIndices[outputBase + rank * inner] = Int64(order[rank])
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
