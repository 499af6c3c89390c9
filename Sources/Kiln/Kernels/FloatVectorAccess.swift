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
