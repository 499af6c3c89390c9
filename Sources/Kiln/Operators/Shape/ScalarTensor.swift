/// One-element tensors of any dtype from a number, for attribute values such as Pad's `value`.
package enum ScalarTensor {
    /// A rank-0 tensor of `dtype` holding `value`, converted as a cast would (floats truncate toward
    /// zero into integers, out-of-range values saturate, NaN becomes 0, non-zero is true).
    package static func make(_ value: Double, dtype: DType) -> Tensor {
        func integer<T: FixedWidthInteger>(_ type: T.Type) -> T {
            guard !value.isNaN else { return 0 }
            if value <= Double(T.min) { return T.min }
            if value >= Double(T.max) { return T.max }
            return T(value.rounded(.towardZero))
        }
        switch dtype {
        case .float32: return Tensor(scalar: Float(value))
        case .float16: return Tensor(scalar: Float16(Float(value)))
        case .int64: return Tensor(scalar: integer(Int64.self))
        case .int32: return Tensor(scalar: integer(Int32.self))
        case .int8: return Tensor(scalar: integer(Int8.self))
        case .uint8: return Tensor(scalar: integer(UInt8.self))
        case .bool: return Tensor(scalar: value != 0)
        }
    }
}
