/// Horizontal reductions of a contiguous float run.
///
/// Swift keeps float additions in source order, so a plain `total += x[i]` loop never vectorizes.
/// These accumulate in eight independent lanes instead (SIMD8 through unaligned loads, which the
/// baseline SSE2 build turns into pairs of packed adds; FACTS.md), which reorders the additions the
/// way any BLAS does. Maximum and minimum use a compare-and-select per lane because `Swift.max` and
/// `pointwiseMax` do not vectorize there (measured ~10x slower).
package enum VectorReductions {
    @inlinable
    package static func sum(_ values: UnsafePointer<Float>, count: Int) -> Float {
        let raw = UnsafeRawPointer(values)
        var lanes = SIMD8<Float>()
        var index = 0
        while index + 8 <= count {
            lanes += raw.loadUnaligned(fromByteOffset: index &* 4, as: SIMD8<Float>.self)
            index += 8
        }
        var total = lanes.sum()
        while index < count {
            total += values[index]
            index += 1
        }
        return total
    }

    /// Sum of `values[i] - center`.
    @inlinable
    package static func sumOfDeviations(_ values: UnsafePointer<Float>, count: Int, from center: Float) -> Float {
        let raw = UnsafeRawPointer(values)
        let centers = SIMD8<Float>(repeating: center)
        var lanes = SIMD8<Float>()
        var index = 0
        while index + 8 <= count {
            lanes += raw.loadUnaligned(fromByteOffset: index &* 4, as: SIMD8<Float>.self) - centers
            index += 8
        }
        var total = lanes.sum()
        while index < count {
            total += values[index] - center
            index += 1
        }
        return total
    }

    /// Sum of `(values[i] - center)^2`; the second pass of a two-pass variance.
    @inlinable
    package static func sumOfSquaredDeviations(_ values: UnsafePointer<Float>, count: Int, from center: Float) -> Float {
        let raw = UnsafeRawPointer(values)
        let centers = SIMD8<Float>(repeating: center)
        var lanes = SIMD8<Float>()
        var index = 0
        while index + 8 <= count {
            let deviation = raw.loadUnaligned(fromByteOffset: index &* 4, as: SIMD8<Float>.self) - centers
            lanes += deviation * deviation
            index += 8
        }
        var total = lanes.sum()
        while index < count {
            let deviation = values[index] - center
            total += deviation * deviation
            index += 1
        }
        return total
    }

    /// Sum of squares.
    @inlinable
    package static func sumOfSquares(_ values: UnsafePointer<Float>, count: Int) -> Float {
        sumOfSquaredDeviations(values, count: count, from: 0)
    }

    /// Sum of absolute values.
    @inlinable
    package static func sumOfMagnitudes(_ values: UnsafePointer<Float>, count: Int) -> Float {
        let raw = UnsafeRawPointer(values)
        var lanes = SIMD8<Float>()
        var index = 0
        while index + 8 <= count {
            let chunk = raw.loadUnaligned(fromByteOffset: index &* 4, as: SIMD8<Float>.self)
            lanes += chunk.replacing(with: -chunk, where: chunk .< 0)
            index += 8
        }
        var total = lanes.sum()
        while index < count {
            total += abs(values[index])
            index += 1
        }
        return total
    }

    /// The largest value, or -infinity for an empty run. NaNs are ignored (an all-NaN run gives -infinity).
    @inlinable
    package static func maximum(_ values: UnsafePointer<Float>, count: Int) -> Float {
        var lanes = SIMD8<Float>(repeating: -.infinity)
        var index = 0
        while index + 8 <= count {
            for lane in 0..<8 {
                let value = values[index &+ lane]
                lanes[lane] = value > lanes[lane] ? value : lanes[lane]
            }
            index += 8
        }
        var result = lanes.max()
        while index < count {
            if values[index] > result { result = values[index] }
            index += 1
        }
        return result
    }

    /// The smallest value, or +infinity for an empty run. NaNs are ignored.
    @inlinable
    package static func minimum(_ values: UnsafePointer<Float>, count: Int) -> Float {
        var lanes = SIMD8<Float>(repeating: .infinity)
        var index = 0
        while index + 8 <= count {
            for lane in 0..<8 {
                let value = values[index &+ lane]
                lanes[lane] = value < lanes[lane] ? value : lanes[lane]
            }
            index += 8
        }
        var result = lanes.min()
        while index < count {
            if values[index] < result { result = values[index] }
            index += 1
        }
        return result
    }
}
