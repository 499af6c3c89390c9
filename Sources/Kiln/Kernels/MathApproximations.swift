#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Float transcendental functions written so a loop over them vectorizes: straight-line arithmetic,
/// bit manipulation instead of conversions that trap, and both sides of every branch computed then
/// selected. A libm call per element does not vectorize, and these functions are where models such
/// as transformers spend their non-GEMM time (Gelu, Softmax's exp, Tanh).
///
/// Polynomial coefficients come from `Scripts/fit_math_approximations.py` (near-minimax fits of the
/// relative error). `ElementwiseMathTests` pins their accuracy against libm (in Double) over a dense
/// sweep of Float bit patterns: a few ulp wherever the result is a normal number. Evaluation uses
/// separate multiplies and adds (no `fma`): at the baseline x86-64 target an `fma` call is a library
/// call per element.
package enum FastMath {
    // Cody-Waite split of ln 2: the high part has 16 significant bits, so `n * ln2High` is exact for
    // every |n| < 256 that range reduction produces.
    @usableFromInline static let ln2High: Float = 0.693145751953125
    @usableFromInline static let ln2Low: Float = 1.428606765330187e-06
    @usableFromInline static let log2e: Float = 1.442695040888963
    // Adding 1.5 * 2^23 rounds a Float of magnitude < 2^22 to an integer held in the low mantissa bits.
    @usableFromInline static let roundingShifter: Float = 12_582_912

    /// e^x. Overflows to +inf above ~88.72, underflows through the subnormals to 0 below ~-103.97;
    /// NaN gives NaN.
    @inline(__always)
    package static func exp(_ x: Float) -> Float { exp(high: x, low: 0) }

    /// e^(high + low) for |low| much smaller than an ulp of `high`: callers whose argument carries
    /// more precision than one Float (erfc's -x^2) keep it, because e^x magnifies an absolute error
    /// in x into the same relative error in the result.
    @inline(__always)
    static func exp(high x: Float, low: Float) -> Float {
        // Beyond these bounds the result is inf or 0 anyway; clamping keeps the exponent arithmetic
        // in range. The comparisons are false for NaN, which flows through to the result.
        let lowerBound: Float = -104, upperBound: Float = 89
        let clamped = x < lowerBound ? lowerBound : (x > upperBound ? upperBound : x)
        return expWithinRange(high: clamped, low: low)
    }

    /// ``exp(high:low:)`` for callers whose `high` is already within [-104, 89] (or NaN), without
    /// the clamp: Gelu bounds its argument once instead (see ``gelu(_:)``).
    @inline(__always)
    static func expWithinRange(high x: Float, low: Float) -> Float {
        let shifted = x * log2e + roundingShifter
        let n = shifted - roundingShifter
        let r = (x - n * ln2High) - (n * ln2Low - low)
        let p = 1 + (r + r * r * expPolynomial(r))
        // 2^n in two factors, each a normal float, so subnormal and overflowing results round once.
        let k = Int32(bitPattern: shifted.bitPattern) &- Int32(bitPattern: roundingShifter.bitPattern)
        let k1 = k &>> 1
        let k2 = k &- k1
        let scale1 = Float(bitPattern: UInt32(bitPattern: (k1 &+ 127) &<< 23))
        let scale2 = Float(bitPattern: UInt32(bitPattern: (k2 &+ 127) &<< 23))
        return p * scale1 * scale2
    }

    /// x^2 as an unevaluated sum high + low, with `high` exact: x split into a 12-bit head (whose
    /// square is exact in 24 bits) and the rest, and x^2 - head^2 = rest * (x + head).
    @inline(__always)
    static func splitSquare(_ x: Float) -> (high: Float, low: Float) {
        let head = Float(bitPattern: x.bitPattern & 0xFFFF_F000)
        let rest = x - head
        return (head * head, rest * (x + head))
    }

    /// Q(r) with e^r = 1 + r + r^2 Q(r) for |r| <= ln2/2.
    ///
    /// Evaluated in Estrin's scheme (pairs of terms combined with powers of r) rather than Horner's:
    /// the same operations, but a dependency chain of three steps instead of four, and loops over
    /// these functions are bound by that chain (see ``erfcxPolynomial(_:)``).
    @inline(__always)
    static func expPolynomial(_ r: Float) -> Float {
        let c0: Float = 0.4999999403953552, c1: Float = 0.1666651964187622
        let c2: Float = 0.04166840761899948, c3: Float = 0.008368918672204018
        let c4: Float = 0.0013814179692417383
        let r2 = r * r
        return (c0 + c1 * r) + r2 * ((c2 + c3 * r) + r2 * c4)
    }

    /// e^x - 1, accurate near 0 where `exp(x) - 1` cancels.
    @inline(__always)
    package static func expm1(_ x: Float) -> Float {
        let small = x + x * x * expPolynomial(x)
        let large = exp(x) - 1
        return x.magnitude <= 0.34 ? small : large
    }

    /// Natural logarithm. 0 gives -inf, negative numbers and NaN give NaN, +inf gives +inf.
    @inline(__always)
    package static func log(_ x: Float) -> Float {
        // Subnormals are scaled into the normal range so the exponent bits mean what they say.
        let isSubnormal = x < Float.leastNormalMagnitude
        let scaled = isSubnormal ? x * 8_388_608 : x
        let bits = Int32(bitPattern: scaled.bitPattern)
        // Split x = m * 2^e with m in [sqrt(1/2), sqrt(2)), so log(m) stays small and accurate.
        let e = (bits &- 0x3F35_04F3) &>> 23
        let m = Float(bitPattern: UInt32(bitPattern: bits &- (e &<< 23)))
        let f = m - 1  // exact (Sterbenz)
        // log(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716.
        let s = f / (2 + f)
        let z = s * s
        let c0: Float = 0.6666677594184875, c1: Float = 0.39977574348449707, c2: Float = 0.29870936274528503
        let logM = 2 * s + s * z * (c0 + z * (c1 + z * c2))
        let exponent = Float(e) - (isSubnormal ? 23 : 0)
        let result = exponent * ln2High + (logM + exponent * ln2Low)
        if x > 0 { return x == .infinity ? x : result }
        return x == 0 ? -.infinity : .nan
    }

    /// log(1 + x), accurate for tiny x where `1 + x` rounds.
    @inline(__always)
    package static func log1p(_ x: Float) -> Float {
        let w = 1 + x
        let d = w - 1
        // w - 1 is exact, and log(w) / (w - 1) varies slowly, so scaling by x / d undoes the
        // rounding of 1 + x.
        let corrected = log(w) * (x / d)
        if x == .infinity { return x }
        return d == 0 ? x : corrected
    }

    /// tanh(x), odd, exactly ±1 beyond |x| ~ 9.
    @inline(__always)
    package static func tanh(_ x: Float) -> Float {
        // Computed on |x|, then given x's sign, so -0 stays -0 and the function is exactly odd.
        let magnitude = x.magnitude
        let z = magnitude * magnitude
        let c0: Float = -0.3333328068256378, c1: Float = 0.13331441581249237
        let c2: Float = -0.05373971536755562, c3: Float = 0.0206390880048275
        let c4: Float = -0.005704987328499556
        let small = magnitude + magnitude * z * (c0 + z * (c1 + z * (c2 + z * (c3 + z * c4))))
        // 1 - 2 / (e^(2|x|) + 1) has no harmful cancellation once |x| >= 0.625 (result >= 0.55).
        let large = 1 - 2 / (exp(2 * magnitude) + 1)
        let result = magnitude < 0.625 ? small : large
        return Float(bitPattern: result.bitPattern | (x.bitPattern & 0x8000_0000))
    }

    /// The logistic function 1 / (1 + e^-x), without overflow or cancellation on either side.
    @inline(__always)
    package static func sigmoid(_ x: Float) -> Float {
        let e = exp(-x.magnitude)
        let reciprocal = 1 / (1 + e)
        return x < 0 ? e * reciprocal : reciprocal
    }

    /// erf(x).
    @inline(__always)
    package static func erf(_ x: Float) -> Float {
        let magnitude = x.magnitude
        let small = x * erfSmallPolynomial(x * x)
        let square = splitSquare(x)
        let large = 1 - erfcLarge(magnitude, squareHigh: square.high, squareLow: square.low)
        let signedLarge = Float(bitPattern: large.bitPattern | (x.bitPattern & 0x8000_0000))
        return magnitude < erfSplit ? small : signedLarge
    }

    /// Where erf switches from its odd polynomial to 1 - erfc.
    @usableFromInline static let erfSplit: Float = 0.9

    /// P(z) with erf(x) = x P(x^2) for |x| <= 0.9.
    @inline(__always)
    static func erfSmallPolynomial(_ z: Float) -> Float {
        let c0: Float = 1.128379225730896, c1: Float = -0.37612634897232056
        let c2: Float = 0.11283715069293976, c3: Float = -0.02686050906777382
        let c4: Float = 0.005203859880566597, c5: Float = -0.0008175644907169044
        let c6: Float = 8.513125067111105e-05
        return c0 + z * (c1 + z * (c2 + z * (c3 + z * (c4 + z * (c5 + z * c6)))))
    }

    /// erfc(a) for a >= 0.9, given a^2 = squareHigh + squareLow: e^(-a^2) R(t), t = 1 / (1 + a/2),
    /// R approximating the smooth erfcx (fitted on [0.9, 10]; past 10.5 erfc is below the smallest
    /// subnormal and the result is 0).
    @inline(__always)
    static func erfcLarge(_ a: Float, squareHigh: Float, squareLow: Float) -> Float {
        let t = 1 / (1 + 0.5 * a)
        let c0: Float = 3.0559938295482425e-06, c1: Float = 0.28199905157089233
        let c2: Float = 0.28340771794319153, c3: Float = 0.23647551238536835
        let c4: Float = 0.2282203584909439, c5: Float = -0.0879477858543396
        let c6: Float = 0.3700050115585327, c7: Float = -0.5701600909233093
        let c8: Float = 0.3253321349620819, c9: Float = -0.06730324029922485
        let r = c0 + t * (c1 + t * (c2 + t * (c3 + t * (c4 + t * (c5 + t * (c6 + t * (c7 + t * (c8 + t * c9))))))))
        let value = exp(high: -squareHigh, low: -squareLow) * r
        // Also covers a = inf, where the split square is NaN; NaN itself fails the test and stays NaN.
        return a > 10.5 ? 0 : value
    }

    /// Gelu with the exact (erf) form: x/2 (1 + erf(x / sqrt 2)) = x/2 erfc(-v), v = x / sqrt 2.
    /// One path for every x: erfc(|v|) = e^(-v^2) R(t) with R fitted down to |v| = 0, so no second
    /// polynomial near 0 is evaluated and selected per element (about 20% faster than the two-branch
    /// form at the SSE2 baseline). For x < 0 the factor is that erfc itself, so it keeps relative
    /// accuracy where it is small; for x >= 0 it is 2 - erfc(v), at least 1.
    ///
    /// |x| is clamped to 14.4 first. Past it, x/2 erfc(|v|) is below half the smallest subnormal
    /// (the result is 0 for x < 0) and 2 - erfc(|v|) is 2 (x for x > 0), so nothing changes; but
    /// -v^2 then stays above -104, inside exp's range without its clamp, and inf never reaches the
    /// split square (whose inf - inf is NaN). The factor then comes from the sign bit of x with
    /// integer operations instead of two selects. At the SSE2 baseline that took Gelu over
    /// 196,608 floats from 0.52 to 0.42 ms, with identical results over the accuracy sweep.
    @inline(__always)
    package static func gelu(_ x: Float) -> Float {
        // `<` is false for NaN, which becomes 14.4 here and comes back through the final `x *`.
        let magnitude = x.magnitude < 14.4 ? x.magnitude : 14.4
        let t = 1 / (1 + 0.5 * (magnitude * 0.70710678118654752))
        // v^2 = x^2 / 2 exactly, not the square of the rounded v: e^(-v^2) needs it to full precision.
        let square = splitSquare(magnitude)
        let tail = expWithinRange(high: -0.5 * square.high, low: -0.5 * square.low) * erfcxPolynomial(t)
        // 1 + erf(v) is the tail for x < 0 and 2 - tail otherwise: with the sign bit of x clear,
        // `positive` turns 0 into 2.0's bit pattern and flips the tail's sign.
        let positive = ~x.bitPattern & 0x8000_0000
        let onePlusErf = Float(bitPattern: positive >> 1) + Float(bitPattern: tail.bitPattern ^ positive)
        return 0.5 * x * onePlusErf
    }

    /// R(t) with erfc(a) = e^(-a^2) R(t), t = 1 / (1 + a/2), fitted on a in [0, 10.5] (max relative
    /// error 3.4e-8 before Float rounding).
    ///
    /// Estrin's scheme: Horner's nine dependent multiply-adds made Gelu a chain of about 85 cycles
    /// per element, and the out-of-order window holds only about three iterations of its loop, so
    /// the loop waited on the chain. Pairs combined with t^2 and t^4 (and Estrin in the exponential)
    /// took Gelu over 196,608 floats from 0.59 to 0.52 ms at the SSE2 baseline, with the maximum
    /// relative error against libm at 5.2e-7 either way.
    @inline(__always)
    static func erfcxPolynomial(_ t: Float) -> Float {
        let c0: Float = -4.606788479577517e-06, c1: Float = 0.28219082951545715
        let c2: Float = 0.28137943148612976, c3: Float = 0.24835801124572754
        let c4: Float = 0.18574926257133484, c5: Float = 0.008079669438302517
        let c6: Float = 0.2327071577310562, c7: Float = -0.4506021738052368
        let c8: Float = 0.2679767906665802, c9: Float = -0.05583437532186508
        let t2 = t * t, t4 = t2 * t2
        let low = (c0 + c1 * t) + t2 * (c2 + c3 * t)
        let high = (c4 + c5 * t) + t2 * (c6 + c7 * t)
        return low + t4 * (high + t4 * (c8 + c9 * t))
    }

    /// Gelu with the tanh approximation, x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), evaluated as
    /// x * sigmoid(2u): the same function, without the cancellation of 1 + tanh(u) for x < 0.
    ///
    /// 2u is formed in Double and handed to exp as a Float pair: for x < 0 the result is about
    /// e^(2u), and an ulp of error in a Float u of magnitude ~40 would already cost 1e-5 relative.
    @inline(__always)
    package static func geluTanh(_ x: Float) -> Float {
        let wide = Double(x)
        let twoU = 1.5957691216057308 * (wide + 0.044715 * (wide * wide * wide))
        let negativeMagnitude = -twoU.magnitude
        // Past -200 the exponential is 0 whatever the digits; the bound keeps the pair finite.
        let bounded = negativeMagnitude < -200 ? -200 : negativeMagnitude
        let high = Float(bounded)
        let low = Float(bounded - Double(high))
        let e = exp(high: high, low: low)
        let reciprocal = 1 / (1 + e)
        return x * (twoU < 0 ? e * reciprocal : reciprocal)
    }
}

/// The libm versions of the ``FastMath`` functions, evaluated in Double and rounded once: the
/// scalar references the fast functions and the operators are tested against.
package enum ReferenceMath {
    package static func exp(_ x: Float) -> Float { Float(libmExp(Double(x))) }
    package static func expm1(_ x: Float) -> Float { Float(libmExpm1(Double(x))) }
    package static func log(_ x: Float) -> Float { Float(libmLog(Double(x))) }
    package static func log1p(_ x: Float) -> Float { Float(libmLog1p(Double(x))) }
    package static func tanh(_ x: Float) -> Float { Float(libmTanh(Double(x))) }
    package static func erf(_ x: Float) -> Float { Float(libmErf(Double(x))) }

    package static func sigmoid(_ x: Float) -> Float {
        let value = Double(x)
        return Float(value >= 0 ? 1 / (1 + libmExp(-value)) : libmExp(value) / (1 + libmExp(value)))
    }

    package static func gelu(_ x: Float) -> Float {
        let value = Double(x)
        return Float(0.5 * value * libmErfc(-value * 0.70710678118654752))
    }

    package static func geluTanh(_ x: Float) -> Float {
        let value = Double(x)
        let inner = 0.7978845608028654 * (value + 0.044715 * value * value * value)
        // x/2 (1 + tanh(u)) = x / (1 + e^(-2u)): the same value without Double's own cancellation in
        // 1 + tanh(u) when u is very negative.
        return Float(value / (1 + libmExp(-2 * inner)))
    }
}

// File-level forwards to libm, so the `ReferenceMath` members of the same names do not shadow them.
private func libmExp(_ x: Double) -> Double { exp(x) }
private func libmExpm1(_ x: Double) -> Double { expm1(x) }
private func libmLog(_ x: Double) -> Double { log(x) }
private func libmLog1p(_ x: Double) -> Double { log1p(x) }
private func libmTanh(_ x: Double) -> Double { tanh(x) }
private func libmErf(_ x: Double) -> Double { erf(x) }
private func libmErfc(_ x: Double) -> Double { erfc(x) }
