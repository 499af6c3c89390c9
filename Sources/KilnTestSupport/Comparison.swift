import Kiln

/// How far apart two tensors are, elementwise, in the numpy `allclose` sense.
public struct Comparison: Sendable, CustomStringConvertible {
    public var maxAbsoluteError: Float
    public var maxRelativeError: Float
    /// Elements where |actual - expected| > atol + rtol * |expected| (NaN equal only to NaN).
    public var mismatches: Int
    public var firstMismatch: (index: Int, actual: Float, expected: Float)?
    public var shapesMatch: Bool

    /// True when shapes match and no element is out of tolerance.
    public var isClose: Bool { shapesMatch && mismatches == 0 }

    public var description: String {
        guard shapesMatch else { return "shapes differ" }
        var text = "max abs err \(maxAbsoluteError), max rel err \(maxRelativeError), \(mismatches) mismatches"
        if let first = firstMismatch { text += " (first at \(first.index): \(first.actual) vs expected \(first.expected))" }
        return text
    }

    /// Compares `actual` with `expected` at `rtol`/`atol` (numpy `isclose` semantics).
    public static func compare(_ actual: Tensor, _ expected: Tensor, rtol: Float = 1e-4, atol: Float = 1e-5) -> Comparison {
        var result = Comparison(maxAbsoluteError: 0, maxRelativeError: 0, mismatches: 0, firstMismatch: nil,
                                shapesMatch: actual.shape == expected.shape && actual.dtype == expected.dtype)
        guard result.shapesMatch else { return result }
        let a = actual.floats(), e = expected.floats()
        for index in a.indices {
            let x = a[index], y = e[index]
            if x.isNaN || y.isNaN {
                if !(x.isNaN && y.isNaN) { result.record(index, x, y) }
                continue
            }
            if x == y { continue }  // covers equal infinities
            if x.isInfinite || y.isInfinite {
                // An infinity matches only itself; the tolerance formula would accept inf <= inf.
                result.record(index, x, y)
                continue
            }
            let difference = abs(x - y)
            result.maxAbsoluteError = max(result.maxAbsoluteError, difference)
            if y != 0 { result.maxRelativeError = max(result.maxRelativeError, difference / abs(y)) }
            if !(difference <= atol + rtol * abs(y)) { result.record(index, x, y) }
        }
        return result
    }

    private mutating func record(_ index: Int, _ actual: Float, _ expected: Float) {
        mismatches += 1
        if firstMismatch == nil { firstMismatch = (index, actual, expected) }
    }
}
