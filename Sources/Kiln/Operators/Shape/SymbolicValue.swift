/// Shape tensors whose elements are dims: the constant ones and the symbolic ones that type inference
/// tracks so that shape arithmetic (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, as PyTorch
/// exports it) keeps symbols such as `batch` instead of minting fresh ones.
package enum SymbolicValue {
    /// A constant for `value` when every dim is fixed and `type` is an int64 or int32 tensor of rank
    /// 0 or 1 with as many elements as `value`; otherwise nil.
    package static func constant(_ value: [Dim], type: TensorType?) -> Tensor? {
        guard let type, let shape = type.shape, shape.count <= 1 else { return nil }
        var numbers: [Int] = []
        numbers.reserveCapacity(value.count)
        for dim in value {
            guard let number = dim.value else { return nil }
            numbers.append(number)
        }
        let tensorShape = shape.isEmpty ? [] : [numbers.count]
        guard shape.isEmpty ? numbers.count == 1 : (shape[0].value ?? numbers.count) == numbers.count else { return nil }
        switch type.dtype {
        case .int64: return try? Tensor(shape: tensorShape, scalars: numbers.map { Int64($0) })
        case .int32:
            guard numbers.allSatisfy({ Int32(exactly: $0) != nil }) else { return nil }
            return try? Tensor(shape: tensorShape, scalars: numbers.map { Int32($0) })
        default: return nil
        }
    }
}

extension InferenceInput {
    /// The elements of an int64/int32 tensor of rank 0 or 1 as dims: fixed ones from a constant,
    /// otherwise the symbolic value when inference tracked one.
    package var dimsValue: [Dim]? {
        if let constant {
            guard constant.rank <= 1, constant.dtype == .int64 || constant.dtype == .int32 else { return nil }
            return constant.int64s().map { .fixed(Int($0)) }
        }
        return symbolicValue
    }

    /// The constant's elements as integers, for an int64/int32 constant of rank 0 or 1.
    package var constantIntegers: [Int]? {
        guard let constant, constant.rank <= 1, constant.dtype == .int64 || constant.dtype == .int32 else { return nil }
        return constant.int64s().map { Int($0) }
    }
}
