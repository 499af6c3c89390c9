import Foundation

/// Mean/variance normalization kernels (layer, instance and batch normalization).
///
/// Statistics use two passes in `Float` (mean, then the mean of squared deviations from it), which
/// avoids the cancellation of `E[x^2] - E[x]^2` when the mean is large next to the spread. The mean
/// itself is summed relative to the first value: a plain float sum of values near 10^4 loses the
/// digits that hold their spread.
package enum NormalizationKernels {
    /// Mean and 1/sqrt(variance + epsilon) of `count` floats (population variance).
    @inlinable
    package static func statistics(_ values: UnsafePointer<Float>, count: Int, epsilon: Float) -> (mean: Float, inverseDeviation: Float) {
        guard count > 0 else { return (.nan, .nan) }
        let pivot = values[0]
        let mean = pivot + VectorReductions.sumOfDeviations(values, count: count, from: pivot) / Float(count)
        let variance = VectorReductions.sumOfSquaredDeviations(values, count: count, from: mean) / Float(count)
        return (mean, 1 / (variance + epsilon).squareRoot())
    }

    /// Normalizes one row: `y = (x - mean) * inverseDeviation * scale + bias` with per-element
    /// `scale` and optional `bias` (both `count` long).
    @inlinable
    package static func normalizeRow(_ x: UnsafePointer<Float>, count: Int, mean: Float, inverseDeviation: Float,
                                     scale: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                     output: UnsafeMutablePointer<Float>) {
        if let bias {
            for index in 0..<count { output[index] = (x[index] - mean) * inverseDeviation * scale[index] + bias[index] }
        } else {
            for index in 0..<count { output[index] = (x[index] - mean) * inverseDeviation * scale[index] }
        }
    }

    /// `y = x * multiplier + addend` over a run: the folded form of batch normalization and of
    /// instance normalization once the statistics are known.
    @inlinable
    package static func affine(_ x: UnsafePointer<Float>, count: Int, multiplier: Float, addend: Float,
                               output: UnsafeMutablePointer<Float>) {
        for index in 0..<count { output[index] = x[index] * multiplier + addend }
    }

    /// Reference statistics in `Double`: mean and 1/sqrt(variance + epsilon).
    package static func referenceStatistics(_ values: UnsafePointer<Float>, count: Int, epsilon: Float) -> (mean: Double, inverseDeviation: Double) {
        var total = 0.0
        for index in 0..<count { total += Double(values[index]) }
        let mean = total / Double(count)
        var squares = 0.0
        for index in 0..<count {
            let deviation = Double(values[index]) - mean
            squares += deviation * deviation
        }
        return (mean, 1 / (squares / Double(count) + Double(epsilon)).squareRoot())
    }
}
