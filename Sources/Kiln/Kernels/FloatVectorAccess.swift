/// Four consecutive floats as one `SIMD4` (unaligned), for kernels that vectorize by hand.
extension UnsafePointer<Float> {
    @inline(__always)
    func loadVector4() -> SIMD4<Float> {
        UnsafeRawPointer(self).loadUnaligned(as: SIMD4<Float>.self)
    }
}

extension UnsafeMutablePointer<Float> {
    @inline(__always)
    func storeVector4(_ value: SIMD4<Float>) {
        UnsafeMutableRawPointer(self).storeBytes(of: value, as: SIMD4<Float>.self)
    }
}

/// Any width of float vector, for kernels generic over the width the build executes natively
/// (``BuildTarget``). Callers pass a concrete type, so the compiler specializes them.
extension UnsafePointer<Float> {
    @inline(__always)
    func loadVector<Vector: SIMD>(as _: Vector.Type = Vector.self) -> Vector where Vector.Scalar == Float {
        UnsafeRawPointer(self).loadUnaligned(as: Vector.self)
    }
}

extension UnsafeMutablePointer<Float> {
    @inline(__always)
    func storeVector<Vector: SIMD>(_ value: Vector) where Vector.Scalar == Float {
        UnsafeMutableRawPointer(self).storeBytes(of: value, as: Vector.self)
    }
}

/// The float vector types that kernels generic over the width use, with the operations whose
/// generic `SIMD` versions compile lane by lane. `.<` on a generic `SIMD` resolves to the protocol
/// extension, which for `SIMD16<Float>` became 16 scalar compares and mask inserts (an 11 ms
/// MobileNetV2 instead of 3); the concrete types' own operators are single vector instructions.
package protocol FloatVector: SIMD where Scalar == Float {
    /// Each lane limited to `low...high` (a NaN lane stays NaN).
    func clamped(low: Self, high: Self) -> Self
}

extension SIMD4: FloatVector where Scalar == Float {
    @inline(__always)
    package func clamped(low: Self, high: Self) -> Self {
        var value = self
        value.replace(with: low, where: value .< low)
        value.replace(with: high, where: value .> high)
        return value
    }
}

extension SIMD16: FloatVector where Scalar == Float {
    @inline(__always)
    package func clamped(low: Self, high: Self) -> Self {
        var value = self
        value.replace(with: low, where: value .< low)
        value.replace(with: high, where: value .> high)
        return value
    }
}
