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
    /// Lane by lane, `self` where it is greater than `current`, else `current` (a NaN in `self` is
    /// skipped, as max pooling's running maximum does).
    func larger(_ current: Self) -> Self
    /// Lane by lane, `self` where it is less than `current`, else `current`.
    func smaller(_ current: Self) -> Self
    /// Lanes 0, 2, 4, ... of `low` followed by those of `high`.
    static func evenLanes(_ low: Self, _ high: Self) -> Self
    /// Lanes 1, 3, 5, ... of `low` followed by those of `high`.
    static func oddLanes(_ low: Self, _ high: Self) -> Self
}

extension SIMD4: FloatVector where Scalar == Float {
    @inline(__always)
    package func larger(_ current: Self) -> Self { current.replacing(with: self, where: self .> current) }

    @inline(__always)
    package func smaller(_ current: Self) -> Self { current.replacing(with: self, where: self .< current) }

    @inline(__always)
    package static func evenLanes(_ low: Self, _ high: Self) -> Self { Self(low[0], low[2], high[0], high[2]) }

    @inline(__always)
    package static func oddLanes(_ low: Self, _ high: Self) -> Self { Self(low[1], low[3], high[1], high[3]) }
}

extension SIMD16: FloatVector where Scalar == Float {
    @inline(__always)
    package func larger(_ current: Self) -> Self { current.replacing(with: self, where: self .> current) }

    @inline(__always)
    package func smaller(_ current: Self) -> Self { current.replacing(with: self, where: self .< current) }

    @inline(__always)
    package static func evenLanes(_ low: Self, _ high: Self) -> Self {
        Self(low[0], low[2], low[4], low[6], low[8], low[10], low[12], low[14],
             high[0], high[2], high[4], high[6], high[8], high[10], high[12], high[14])
    }

    @inline(__always)
    package static func oddLanes(_ low: Self, _ high: Self) -> Self {
        Self(low[1], low[3], low[5], low[7], low[9], low[11], low[13], low[15],
             high[1], high[3], high[5], high[7], high[9], high[11], high[13], high[15])
    }
}

extension FloatVector {
    /// Each lane limited to `low...high` (a NaN lane stays NaN), from the concrete comparisons.
    @inline(__always)
    package func clamped(low: Self, high: Self) -> Self { high.smaller(low.larger(self)) }
}
