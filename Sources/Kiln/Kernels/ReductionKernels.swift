import Foundation

/// The ONNX reductions (`ReduceSum`, `ReduceMean`, ...).
package enum ReductionKind: Sendable, Equatable {
    case sum, mean, maximum, minimum, product
    /// `ReduceL1`: sum of absolute values.
    case sumOfMagnitudes
    /// `ReduceL2`: square root of the sum of squares.
    case euclideanNorm
    case sumOfSquares
    /// `ReduceLogSum`: log of the sum.
    case logSum
    /// `ReduceLogSumExp`: log of the sum of exponentials, computed with the maximum factored out.
    case logSumExp

    /// The ONNX result of reducing an empty set: 0 for sums, 1 for a product, -inf for max and the
    /// log reductions, +inf for min, NaN for the mean (0/0).
    package var emptyValue: Float {
        switch self {
        case .sum, .sumOfMagnitudes, .euclideanNorm, .sumOfSquares: return 0
        case .product: return 1
        case .mean: return .nan
        case .maximum, .logSum, .logSumExp: return -.infinity
        case .minimum: return .infinity
        }
    }
}

/// Reduction kernels over a tensor viewed as `[outer, length, inner]`, reducing `length`.
package enum ReductionKernels {
    /// Reduces contiguous rows (`inner == 1`): `output[row] = reduce(input[row * length ..< (row + 1) * length])`.
    /// `length` must be positive.
    package static func rows(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, rows: Range<Int>,
                             length: Int, kind: ReductionKind) {
        for row in rows {
            let x = input + row * length
            let result: Float
            switch kind {
            case .sum: result = VectorReductions.sum(x, count: length)
            case .mean: result = VectorReductions.sum(x, count: length) / Float(length)
            case .maximum: result = VectorReductions.maximum(x, count: length)
            case .minimum: result = VectorReductions.minimum(x, count: length)
            case .product:
                var product: Float = 1
                for index in 0..<length { product *= x[index] }
                result = product
            case .sumOfMagnitudes: result = VectorReductions.sumOfMagnitudes(x, count: length)
            case .euclideanNorm: result = VectorReductions.sumOfSquares(x, count: length).squareRoot()
            case .sumOfSquares: result = VectorReductions.sumOfSquares(x, count: length)
            case .logSum: result = Foundation.log(VectorReductions.sum(x, count: length))
            case .logSumExp:
                let maximum = VectorReductions.maximum(x, count: length)
                guard maximum.isFinite else {
                    result = maximum
                    break
                }
                var lanes = SIMD8<Float>()
                var index = 0
                while index + 8 <= length {
                    for lane in 0..<8 { lanes[lane] += Exponential.exp(x[index &+ lane] - maximum) }
                    index += 8
                }
                var total = lanes.sum()
                while index < length {
                    total += Exponential.exp(x[index] - maximum)
                    index += 1
                }
                result = maximum + Foundation.log(total)
            }
            output[row] = result
        }
    }

    /// Reduces the columns `columns` of one `[length, inner]` block into `output[columns]` (the
    /// block's `inner`-long output row). Loops run along `inner`, so they vectorize.
    /// - Parameter scratch: `columns.count` floats (used by `logSumExp`).
    package static func columns(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
                                columns: Range<Int>, length: Int, inner: Int, kind: ReductionKind,
                                scratch: UnsafeMutablePointer<Float>) {
        let width = columns.count
        guard width > 0, length > 0 else { return }
        let first = input + columns.lowerBound
        let result = output + columns.lowerBound
        switch kind {
        case .sum, .mean, .logSum:
            result.update(from: first, count: width)
            for step in 1..<length {
                let x = first + step * inner
                for column in 0..<width { result[column] += x[column] }
            }
        case .sumOfMagnitudes:
            result.update(repeating: 0, count: width)
            for step in 0..<length {
                let x = first + step * inner
                for column in 0..<width { result[column] += abs(x[column]) }
            }
        case .sumOfSquares, .euclideanNorm:
            result.update(repeating: 0, count: width)
            for step in 0..<length {
                let x = first + step * inner
                for column in 0..<width { result[column] += x[column] * x[column] }
            }
        case .maximum, .logSumExp:
            result.update(from: first, count: width)
            for step in 1..<length {
                let x = first + step * inner
                for column in 0..<width { result[column] = x[column] > result[column] ? x[column] : result[column] }
            }
        case .minimum:
            result.update(from: first, count: width)
            for step in 1..<length {
                let x = first + step * inner
                for column in 0..<width { result[column] = x[column] < result[column] ? x[column] : result[column] }
            }
        case .product:
            result.update(repeating: 1, count: width)
            for step in 0..<length {
                let x = first + step * inner
                for column in 0..<width { result[column] *= x[column] }
            }
        }
        switch kind {
        case .mean:
            let scale = 1 / Float(length)
            for column in 0..<width { result[column] *= scale }
        case .euclideanNorm:
            for column in 0..<width { result[column] = result[column].squareRoot() }
        case .logSum:
            for column in 0..<width { result[column] = Foundation.log(result[column]) }
        case .logSumExp:
            let total = scratch
            total.update(repeating: 0, count: width)
            for step in 0..<length {
                let x = first + step * inner
                for column in 0..<width { total[column] += Exponential.exp(x[column] - result[column]) }
            }
            for column in 0..<width where result[column].isFinite {
                result[column] += Foundation.log(total[column])
            }
        default:
            break
        }
    }

    /// The scalar reference in `Double` over an arbitrary set of axes: every input element is added
    /// into the output element it reduces to. Returns the output in keep-dims order.
    package static func reference(_ input: [Float], shape: [Int], axes: Set<Int>, kind: ReductionKind) -> [Float] {
        let outputShape = shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        let outputCount = outputShape.reduce(1, *)
        let outputStrides = ShapeArithmetic.strides(outputShape)
        var maxima = [Double](repeating: -.infinity, count: outputCount)
        var accumulators = [Double](repeating: kind == .product ? 1 : (kind == .minimum ? .infinity : (kind == .maximum ? -.infinity : 0)),
                                    count: outputCount)
        var counts = [Int](repeating: 0, count: outputCount)
        func outputIndex(_ index: Int) -> Int {
            var remainder = index, result = 0
            for axis in stride(from: shape.count - 1, through: 0, by: -1) {
                let coordinate = remainder % shape[axis]
                remainder /= shape[axis]
                if !axes.contains(axis) { result += coordinate * outputStrides[axis] }
            }
            return result
        }
        for (index, value) in input.enumerated() {
            let target = outputIndex(index)
            maxima[target] = max(maxima[target], Double(value))
        }
        for (index, value) in input.enumerated() {
            let target = outputIndex(index)
            let x = Double(value)
            counts[target] += 1
            switch kind {
            case .sum, .mean, .logSum: accumulators[target] += x
            case .maximum: accumulators[target] = max(accumulators[target], x)
            case .minimum: accumulators[target] = min(accumulators[target], x)
            case .product: accumulators[target] *= x
            case .sumOfMagnitudes: accumulators[target] += abs(x)
            case .euclideanNorm, .sumOfSquares: accumulators[target] += x * x
            case .logSumExp: accumulators[target] += Foundation.exp(x - maxima[target])
            }
        }
        return (0..<outputCount).map { target in
            let value = accumulators[target]
            switch kind {
            case .mean: return Float(value / Double(counts[target]))
            case .euclideanNorm: return Float(value.squareRoot())
            case .logSum: return Float(Foundation.log(value))
            case .logSumExp: return counts[target] == 0 ? -.infinity : Float(maxima[target] + Foundation.log(value))
            default: return Float(value)
            }
        }
    }
}
