import Foundation

/// Softmax and log-softmax over one axis of a tensor viewed as `[outer, length, inner]`.
///
/// Every variant subtracts the maximum along the axis first, so `exp` never overflows and the
/// largest term is exactly 1 (the sum is at least 1: no division by a tiny number).
package enum SoftmaxKernels {
    /// Contiguous rows (`inner == 1`): `rows.count` rows of `length` floats.
    package static func rows(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
                             rows: Range<Int>, length: Int, logarithm: Bool) {
        guard length > 0 else { return }
        for row in rows {
            let x = input + row * length
            let y = output + row * length
            let maximum = VectorReductions.maximum(x, count: length)
            for index in 0..<length { y[index] = Exponential.exp(x[index] - maximum) }
            let total = VectorReductions.sum(y, count: length)
            if logarithm {
                let shift = maximum + Foundation.log(total)
                for index in 0..<length { y[index] = x[index] - shift }
            } else {
                let scale = 1 / total
                for index in 0..<length { y[index] *= scale }
            }
        }
    }

    /// Strided softmax (`inner > 1`) of the columns `columns` of one `[length, inner]` block: the
    /// loops run along `inner`, so they vectorize.
    /// - Parameter scratch: `2 * columns.count` floats.
    package static func columns(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
                                columns: Range<Int>, length: Int, inner: Int, logarithm: Bool,
                                scratch: UnsafeMutablePointer<Float>) {
        let width = columns.count
        guard length > 0, width > 0 else { return }
        let maximum = scratch, total = scratch + width
        let first = input + columns.lowerBound
        maximum.update(from: first, count: width)
        for step in 1..<max(length, 1) {
            let x = first + step * inner
            for column in 0..<width { maximum[column] = x[column] > maximum[column] ? x[column] : maximum[column] }
        }
        total.update(repeating: 0, count: width)
        for step in 0..<length {
            let x = first + step * inner
            let y = output + columns.lowerBound + step * inner
            for column in 0..<width {
                let value = Exponential.exp(x[column] - maximum[column])
                y[column] = value
                total[column] += value
            }
        }
        if logarithm {
            for column in 0..<width { total[column] = maximum[column] + Foundation.log(total[column]) }
            for step in 0..<length {
                let x = first + step * inner
                let y = output + columns.lowerBound + step * inner
                for column in 0..<width { y[column] = x[column] - total[column] }
            }
        } else {
            for column in 0..<width { total[column] = 1 / total[column] }
            for step in 0..<length {
                let y = output + columns.lowerBound + step * inner
                for column in 0..<width { y[column] *= total[column] }
            }
        }
    }

    /// The scalar reference in `Double`, for the whole `[outer, length, inner]` tensor.
    package static func reference(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
                                  outer: Int, length: Int, inner: Int, logarithm: Bool) {
        for block in 0..<outer {
            for column in 0..<inner {
                let base = block * length * inner + column
                var maximum = -Double.infinity
                for step in 0..<length { maximum = max(maximum, Double(input[base + step * inner])) }
                var total = 0.0
                for step in 0..<length { total += Foundation.exp(Double(input[base + step * inner]) - maximum) }
                for step in 0..<length {
                    let shifted = Double(input[base + step * inner]) - maximum
                    output[base + step * inner] = Float(logarithm ? shifted - Foundation.log(total)
                                                                  : Foundation.exp(shifted) / total)
                }
            }
        }
    }
}
