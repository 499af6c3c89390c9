/// Interpolating resize of float32 data, one axis at a time (see ``ResizeSampling``).
package enum ResizeKernels {
    /// Resizes the middle axis of `[outer, plan.inputLength, inner]` into
    /// `[outer, plan.outputLength, inner]`, for the outer blocks in `blocks`.
    ///
    /// Along the last axis (`inner == 1`) each output is a short dot product over its taps; along
    /// other axes each output row is a weighted sum of whole input rows, which vectorizes.
    package static func resizeAxis(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>,
                                   blocks: Range<Int>, inner: Int, plan: ResizeSampling.AxisPlan,
                                   extrapolationValue: Float) {
        let inputLength = plan.inputLength, outputLength = plan.outputLength, taps = plan.taps
        plan.indices.withUnsafeBufferPointer { indexBuffer in
            plan.weights.withUnsafeBufferPointer { weightBuffer in
                plan.extrapolated.withUnsafeBufferPointer { extrapolatedBuffer in
                    guard let indices = indexBuffer.baseAddress, let weights = weightBuffer.baseAddress,
                          let extrapolated = extrapolatedBuffer.baseAddress else { return }
                    for block in blocks {
                        let input = source + block * inputLength * inner
                        let output = destination + block * outputLength * inner
                        if inner == 1 {
                            for position in 0..<outputLength {
                                var total: Float = 0
                                for tap in 0..<taps {
                                    total += weights[position * taps + tap] * input[indices[position * taps + tap]]
                                }
                                output[position] = extrapolated[position] ? extrapolationValue : total
                            }
                            continue
                        }
                        for position in 0..<outputLength {
                            let row = output + position * inner
                            if extrapolated[position] {
                                row.update(repeating: extrapolationValue, count: inner)
                                continue
                            }
                            let firstWeight = weights[position * taps]
                            let firstRow = input + indices[position * taps] * inner
                            for column in 0..<inner { row[column] = firstWeight * firstRow[column] }
                            for tap in 1..<max(taps, 1) {
                                let weight = weights[position * taps + tap]
                                let inputRow = input + indices[position * taps + tap] * inner
                                for column in 0..<inner { row[column] += weight * inputRow[column] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The scalar reference: every output element as the full tensor-product sum over the taps of
    /// all axes at once (no separable passes), accumulating in `Double`.
    /// - Parameter plans: One plan per axis (an unresized axis has an identity plan).
    package static func reference(_ source: UnsafePointer<Float>, inputShape: [Int], plans: [ResizeSampling.AxisPlan],
                                  extrapolationValue: Float, into destination: UnsafeMutablePointer<Float>) {
        let rank = inputShape.count
        let outputShape = plans.map(\.outputLength)
        let inputStrides = ShapeArithmetic.strides(inputShape)
        let count = outputShape.reduce(1, *)
        let combinations = plans.reduce(1) { $0 * $1.taps }
        var coordinate = [Int](repeating: 0, count: rank)
        for linear in 0..<count {
            var remaining = linear
            for axis in stride(from: rank - 1, through: 0, by: -1) {
                coordinate[axis] = remaining % outputShape[axis]
                remaining /= outputShape[axis]
            }
            if (0..<rank).contains(where: { plans[$0].extrapolated[coordinate[$0]] }) {
                destination[linear] = extrapolationValue
                continue
            }
            var total = 0.0
            for combination in 0..<combinations {
                var rest = combination
                var weight = 1.0
                var offset = 0
                for axis in 0..<rank {
                    let plan = plans[axis]
                    let tap = rest % plan.taps
                    rest /= plan.taps
                    let slot = coordinate[axis] * plan.taps + tap
                    weight *= plan.weights.isEmpty ? 1 : Double(plan.weights[slot])
                    offset += plan.indices[slot] * inputStrides[axis]
                }
                total += weight * Double(source[offset])
            }
            destination[linear] = Float(total)
        }
    }
}
