import Foundation
import Kiln
import Testing

/// Pins the vectorizable approximations in `FastMath` against libm (evaluated in Double and rounded
/// once) over a dense sweep of Float bit patterns, a fine grid where the functions bend, and the
/// special values.
@Suite struct ElementwiseMathTests {
    struct Accuracy: CustomStringConvertible {
        var maxRelativeError: Double = 0
        var worstInput: Float = 0
        /// Largest absolute error where the reference is below the smallest normal Float.
        var maxSubnormalError: Double = 0
        var checked = 0

        var description: String {
            "max rel err \(maxRelativeError) at x = \(worstInput) over \(checked) inputs, subnormal abs err \(maxSubnormalError)"
        }
    }

    /// Every 1021st positive finite bit pattern and its negation (about 2.1 million inputs, all
    /// exponents), plus the grid [-30, 30] in steps of 2^-10.
    static let sweep: [Float] = {
        var values: [Float] = []
        values.reserveCapacity(4_300_000)
        for bits in stride(from: UInt32(0), to: 0x7F80_0000, by: 1021) {
            let value = Float(bitPattern: bits)
            values.append(value)
            values.append(-value)
        }
        for step in -30_720...30_720 { values.append(Float(step) / 1024) }
        return values
    }()

    static func measure(_ fast: (Float) -> Float, _ reference: (Float) -> Float,
                        where include: (Float) -> Bool = { _ in true }) -> Accuracy {
        var accuracy = Accuracy()
        for x in sweep where include(x) {
            let expected = reference(x)
            let actual = fast(x)
            if expected.isNaN || expected.isInfinite {
                if !(actual.isNaN && expected.isNaN) && actual != expected {
                    accuracy.maxRelativeError = .infinity
                    accuracy.worstInput = x
                }
                continue
            }
            accuracy.checked += 1
            let error = abs(Double(actual) - Double(expected))
            if expected.magnitude < Float.leastNormalMagnitude {
                accuracy.maxSubnormalError = max(accuracy.maxSubnormalError, error)
                continue
            }
            let relative = error / abs(Double(expected))
            if !(relative <= accuracy.maxRelativeError) {
                accuracy.maxRelativeError = relative
                accuracy.worstInput = x
            }
        }
        return accuracy
    }

    /// One ulp at 1 is 1.19e-7; the target is ~1e-6 relative (a few ulp).
    static let tolerance = 1e-6
    /// Subnormal results have absolute precision 1.4e-45; allow a few of those steps.
    static let subnormalTolerance = 1e-44

    func check(_ name: String, _ fast: (Float) -> Float, _ reference: (Float) -> Float,
               tolerance: Double = tolerance, where include: (Float) -> Bool = { _ in true }) {
        let accuracy = Self.measure(fast, reference, where: include)
        print("FastMath.\(name): \(accuracy)")
        #expect(accuracy.maxRelativeError <= tolerance, "\(name): \(accuracy)")
        #expect(accuracy.maxSubnormalError <= Self.subnormalTolerance, "\(name): \(accuracy)")
    }

    @Test func expIsAccurateEverywhere() {
        check("exp", FastMath.exp, ReferenceMath.exp)
    }

    @Test func expm1IsAccurateEverywhere() {
        check("expm1", FastMath.expm1, ReferenceMath.expm1)
    }

    @Test func logIsAccurateEverywhere() {
        check("log", FastMath.log, ReferenceMath.log)
    }

    @Test func log1pIsAccurateEverywhere() {
        check("log1p", FastMath.log1p, ReferenceMath.log1p)
    }

    @Test func tanhIsAccurateEverywhere() {
        check("tanh", FastMath.tanh, ReferenceMath.tanh)
    }

    @Test func sigmoidIsAccurateEverywhere() {
        check("sigmoid", FastMath.sigmoid, ReferenceMath.sigmoid)
    }

    @Test func erfIsAccurateEverywhere() {
        check("erf", FastMath.erf, ReferenceMath.erf)
    }

    @Test func geluIsAccurateEverywhere() {
        check("gelu", FastMath.gelu, ReferenceMath.gelu)
    }

    @Test func geluTanhIsAccurateEverywhere() {
        check("geluTanh", FastMath.geluTanh, ReferenceMath.geluTanh)
    }

    /// The references of the Gelu forms are rewritten to avoid cancellation; away from the far
    /// negative tail they must agree with the ONNX formulas as written.
    @Test func geluReferencesMatchTheOnnxFormulas() {
        for step in -3000...3000 {
            let input = Float(step) / 1000
            let x = Double(input)
            let exact = 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
            let tanhForm = 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
            #expect(abs(Double(ReferenceMath.gelu(input)) - exact) <= 1e-7 * max(abs(exact), 1e-3))
            #expect(abs(Double(ReferenceMath.geluTanh(input)) - tanhForm) <= 1e-7 * max(abs(tanhForm), 1e-3))
        }
    }

    @Test func specialValuesFollowLibm() {
        let specials: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, .leastNormalMagnitude, .leastNonzeroMagnitude,
                                 .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 88.72, 88.73, -87.33, -103.9,
                                 -104, -150, 1e-30, -1e-30]
        let pairs: [(String, (Float) -> Float, (Float) -> Float)] = [
            ("exp", FastMath.exp, ReferenceMath.exp), ("expm1", FastMath.expm1, ReferenceMath.expm1),
            ("log", FastMath.log, ReferenceMath.log), ("log1p", FastMath.log1p, ReferenceMath.log1p),
            ("tanh", FastMath.tanh, ReferenceMath.tanh), ("sigmoid", FastMath.sigmoid, ReferenceMath.sigmoid),
            ("erf", FastMath.erf, ReferenceMath.erf),
        ]
        for (name, fast, reference) in pairs {
            for x in specials {
                let expected = reference(x), actual = fast(x)
                if expected.isNaN {
                    #expect(actual.isNaN, "\(name)(\(x)) = \(actual), expected NaN")
                } else if expected.isInfinite || expected == 0 {
                    #expect(actual == expected, "\(name)(\(x)) = \(actual), expected \(expected)")
                } else {
                    let tolerance = expected.magnitude < .leastNormalMagnitude ? 1e-44 : 1e-6 * Double(expected.magnitude)
                    #expect(abs(Double(actual) - Double(expected)) <= tolerance, "\(name)(\(x)) = \(actual), expected \(expected)")
                }
            }
        }
        // Signs of zero and odd symmetry survive.
        #expect(FastMath.tanh(-0.0).sign == .minus)
        #expect(FastMath.erf(-0.0).sign == .minus)
        #expect(FastMath.tanh(-20) == -1)
        #expect(FastMath.erf(-5) == -1)
        #expect(FastMath.log(-1).isNaN)
        #expect(FastMath.log(0) == -.infinity)
        // Gelu: +inf passes through; the exact and tanh forms agree with libm at the extremes.
        #expect(FastMath.gelu(.infinity) == .infinity)
        #expect(FastMath.geluTanh(.infinity) == .infinity)
        #expect(FastMath.gelu(.nan).isNaN && FastMath.geluTanh(.nan).isNaN)
        #expect(FastMath.gelu(-30) == 0 && FastMath.gelu(-30).sign == .minus)
    }
}
