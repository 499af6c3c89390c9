/// A float `exp` that auto-vectorizes, for softmax-style kernels.
///
/// The libm `expf` is a call per element; this version is branch-free (selects, not branches), so a
/// plain loop over it becomes packed SSE2 code: about 2x faster than libm in the baseline build and
/// more with AVX. Relative error is below 2e-7 over the whole float range (tested against `Foundation.exp`).
package enum Exponential {
    /// exp(x) for any float: 0 below -87.34 (where the result would be subnormal), +inf above
    /// 88.72, NaN for NaN.
    @inlinable @inline(__always)
    package static func exp(_ x: Float) -> Float {
        let upper: Float = 88.72283935546875
        let lower: Float = -87.33654475
        var clamped = x > upper ? upper : x
        clamped = clamped < lower ? lower : clamped
        // Adding 1.5 * 2^23 rounds to an integer held in the low mantissa bits: n = round(x / ln 2).
        let shifted = clamped * 1.44269504088896341 + 12582912.0
        let n = shifted - 12582912.0
        // r = x - n ln2 in two steps (Cody-Waite) keeps r exact enough for the polynomial.
        var r = clamped - n * 0.693359375
        r = r - n * -2.12194440e-4
        var polynomial: Float = 1.9875691500e-4
        polynomial = polynomial * r + 1.3981999507e-3
        polynomial = polynomial * r + 8.3334519073e-3
        polynomial = polynomial * r + 4.1665795894e-2
        polynomial = polynomial * r + 1.6666665459e-1
        polynomial = polynomial * r + 5.0000001201e-1
        let mantissa = polynomial * (r * r) + r + 1
        // 2^n as two factors so that n = 128 (x near the upper limit) stays representable.
        let exponent = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000
        let half = exponent &>> 1
        let scale1 = Float(bitPattern: UInt32(bitPattern: (half &+ 127) &<< 23))
        let scale2 = Float(bitPattern: UInt32(bitPattern: (exponent &- half &+ 127) &<< 23))
        var result = mantissa * scale1 * scale2
        result = x < lower ? 0 : result
        result = x > upper ? .infinity : result
        // Comparisons with NaN are false, so NaN has flowed through the arithmetic unchanged.
        return result
    }
}
