/// `ArgMax` / `ArgMin` over a tensor viewed as `[outer, length, inner]`: the index along `length`
/// of the largest (smallest) value. Ties go to the first index, or the last with `lastIndex`.
package enum ArgumentExtremumKernels {
    /// One `[length, inner]` block into `inner` indices; `length` must be positive.
    /// - Parameter best: `inner` floats of scratch.
    package static func block(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Int64>, length: Int, inner: Int,
                              maximum: Bool, lastIndex: Bool, best: UnsafeMutablePointer<Float>) {
        best.update(from: input, count: inner)
        output.update(repeating: 0, count: inner)
        for step in 1..<length {
            let row = input + step * inner
            let index = Int64(step)
            // Four loops instead of one with branches inside, so each stays a simple select.
            switch (maximum, lastIndex) {
            case (true, false):
                for column in 0..<inner where row[column] > best[column] { best[column] = row[column]; output[column] = index }
            case (true, true):
                for column in 0..<inner where row[column] >= best[column] { best[column] = row[column]; output[column] = index }
            case (false, false):
                for column in 0..<inner where row[column] < best[column] { best[column] = row[column]; output[column] = index }
            case (false, true):
                for column in 0..<inner where row[column] <= best[column] { best[column] = row[column]; output[column] = index }
            }
        }
    }

    /// The scalar reference: one column at a time.
    package static func reference(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Int64>, outer: Int,
                                  length: Int, inner: Int, maximum: Bool, lastIndex: Bool) {
        for block in 0..<outer {
            for column in 0..<inner {
                var bestIndex = 0
                for step in 0..<length {
                    let value = input[(block * length + step) * inner + column]
                    let best = input[(block * length + bestIndex) * inner + column]
                    let better = maximum ? value > best : value < best
                    if better || (lastIndex && value == best) { bestIndex = step }
                }
                output[block * inner + column] = Int64(bestIndex)
            }
        }
    }
}
