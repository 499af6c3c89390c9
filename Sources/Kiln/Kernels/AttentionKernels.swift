import Foundation

/// Where the tensors of one multi-head attention live: the inputs in the packed-heads layout the
/// projections produce, `Q [batch, querySequence, heads * keyDepth]`, `K [batch, keySequence, heads
/// * keyDepth]`, `V [batch, keySequence, heads * valueDepth]`, the output per head, `[batch, heads,
/// querySequence, valueDepth]` (what the exported per-head product gives). Head `h` of an input row
/// is the `h`-th run of `depth` floats, so one head is a strided matrix that `sgemm` reads in place
/// through its leading dimension: no transposes, no copies.
package struct AttentionGeometry: Sendable, Equatable {
    package var batch: Int
    package var heads: Int
    package var querySequence: Int
    package var keySequence: Int
    package var keyDepth: Int
    package var valueDepth: Int
    /// Multiplies `Q K^T` before the mask is added.
    package var scale: Float
    /// Element strides of the additive mask along batch, head, query row and key column (0 where
    /// the mask is broadcast); unused when there is no mask.
    package var maskStrides: (batch: Int, head: Int, row: Int, column: Int)
    /// Rows whose softmax is NaN (every key masked with -inf, or a NaN score) become zeros, as the
    /// `Where(IsNaN(p), 0, p)` guard that PyTorch exports after the softmax does.
    package var zeroNaNRows: Bool

    package init(batch: Int, heads: Int, querySequence: Int, keySequence: Int, keyDepth: Int, valueDepth: Int,
                 scale: Float, maskStrides: (batch: Int, head: Int, row: Int, column: Int) = (0, 0, 0, 0),
                 zeroNaNRows: Bool = false) {
        self.batch = batch
        self.heads = heads
        self.querySequence = querySequence
        self.keySequence = keySequence
        self.keyDepth = keyDepth
        self.valueDepth = valueDepth
        self.scale = scale
        self.maskStrides = maskStrides
        self.zeroNaNRows = zeroNaNRows
    }

    package static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.batch == rhs.batch && lhs.heads == rhs.heads && lhs.querySequence == rhs.querySequence
            && lhs.keySequence == rhs.keySequence && lhs.keyDepth == rhs.keyDepth && lhs.valueDepth == rhs.valueDepth
            && lhs.scale == rhs.scale && lhs.maskStrides == rhs.maskStrides && lhs.zeroNaNRows == rhs.zeroNaNRows
    }

    var queryRowStride: Int { heads * keyDepth }
    var valueRowStride: Int { heads * valueDepth }
    /// Offset of output row `row` of head `head` in batch entry `batch`.
    func outputOffset(batch: Int, head: Int, row: Int) -> Int { ((batch * heads + head) * querySequence + row) * valueDepth }
}

/// Scaled dot-product attention, `softmax(scale * Q K^T + mask) V`, per (batch, head).
package enum AttentionKernels {
    /// The most scores one block holds (256 KiB): long sequences are processed a block of query
    /// rows at a time, so the scratch stays in L2 and does not grow with the square of the sequence.
    package static let blockScores = 65_536

    /// Multiply-adds of the largest product OpenBLAS 0.3 runs single-threaded on the calling thread.
    package static let singleThreadedProduct = 1 << 18

    /// Query rows per block for a key sequence of `keySequence`.
    package static func rowsPerBlock(_ geometry: AttentionGeometry, blockScores: Int = blockScores) -> Int {
        max(1, min(geometry.querySequence, blockScores / max(1, geometry.keySequence)))
    }

    /// Query rows `rows` of head `head` in batch entry `batch`: scores through `sgemm`, then mask,
    /// softmax and the product with V through `sgemm`, written into `output` in place.
    /// - Parameter scratch: At least `rows.count * keySequence` floats.
    package static func block(
        query: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>, mask: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>, geometry g: AttentionGeometry, batch: Int, head: Int, rows: Range<Int>,
        scratch: UnsafeMutablePointer<Float>
    ) throws {
        let queryStride = g.queryRowStride, valueStride = g.valueRowStride
        let queryBlock = query + (batch * g.querySequence + rows.lowerBound) * queryStride + head * g.keyDepth
        let keyHead = key + batch * g.keySequence * queryStride + head * g.keyDepth
        let valueHead = value + batch * g.keySequence * valueStride + head * g.valueDepth
        let outputBlock = output + g.outputOffset(batch: batch, head: head, row: rows.lowerBound)
        try MatrixMultiplication.multiply(
            transposeA: false, transposeB: true, m: rows.count, n: g.keySequence, k: g.keyDepth, alpha: g.scale,
            a: queryBlock, lda: queryStride, b: keyHead, ldb: queryStride, beta: 0, c: scratch, ldc: g.keySequence)
        for (position, row) in rows.enumerated() {
            let maskRow = mask.map { $0 + batch * g.maskStrides.batch + head * g.maskStrides.head + row * g.maskStrides.row }
            softmaxRow(scratch + position * g.keySequence, count: g.keySequence, mask: maskRow,
                       maskStride: g.maskStrides.column, zeroNaNRow: g.zeroNaNRows)
        }
        try MatrixMultiplication.multiply(
            transposeA: false, transposeB: false, m: rows.count, n: g.valueDepth, k: g.keySequence, alpha: 1,
            a: scratch, lda: g.keySequence, b: valueHead, ldb: valueStride, beta: 0, c: outputBlock, ldc: g.valueDepth)
    }

    /// One row of scores in place: adds the mask (`mask[j * maskStride]`), then softmax.
    @inlinable
    package static func softmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int, mask: UnsafePointer<Float>?,
                                   maskStride: Int, zeroNaNRow: Bool) {
        guard count > 0 else { return }
        if let mask {
            if maskStride == 1 {
                for index in 0..<count { row[index] += mask[index] }
            } else if maskStride == 0 {
                let offset = mask[0]
                for index in 0..<count { row[index] += offset }
            } else {
                for index in 0..<count { row[index] += mask[index * maskStride] }
            }
        }
        let maximum = VectorReductions.maximum(row, count: count)
        for index in 0..<count { row[index] = FastMath.exp(row[index] - maximum) }
        let total = VectorReductions.sum(row, count: count)
        // Every term is at most 1 and the largest is 1, so the total is in [1, count] unless a NaN
        // (or an all -inf row, where x - max is NaN) went in: then every entry is NaN.
        if total.isNaN {
            row.update(repeating: zeroNaNRow ? 0 : .nan, count: count)
            return
        }
        let reciprocal = 1 / total
        for index in 0..<count { row[index] *= reciprocal }
    }

    /// The scalar reference over the whole tensor: triple loops in `Double`, libm `exp`.
    package static func reference(query: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>,
                                  mask: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                                  geometry g: AttentionGeometry) {
        let queryStride = g.queryRowStride, valueStride = g.valueRowStride
        var scores = [Double](repeating: 0, count: g.keySequence)
        for batch in 0..<g.batch {
            for head in 0..<g.heads {
                for row in 0..<g.querySequence {
                    let q = query + (batch * g.querySequence + row) * queryStride + head * g.keyDepth
                    for column in 0..<g.keySequence {
                        let k = key + (batch * g.keySequence + column) * queryStride + head * g.keyDepth
                        var dot = 0.0
                        for inner in 0..<g.keyDepth { dot += Double(q[inner]) * Double(k[inner]) }
                        var score = Double(g.scale) * dot
                        if let mask {
                            score += Double(mask[batch * g.maskStrides.batch + head * g.maskStrides.head
                                                 + row * g.maskStrides.row + column * g.maskStrides.column])
                        }
                        scores[column] = score
                    }
                    let maximum = scores.max() ?? 0
                    var total = 0.0
                    for column in 0..<g.keySequence {
                        scores[column] = Foundation.exp(scores[column] - maximum)
                        total += scores[column]
                    }
                    let out = output + g.outputOffset(batch: batch, head: head, row: row)
                    for channel in 0..<g.valueDepth {
                        var sum = 0.0
                        for column in 0..<g.keySequence {
                            sum += scores[column] / total
                                * Double(value[(batch * g.keySequence + column) * valueStride + head * g.valueDepth + channel])
                        }
                        out[channel] = Float(total.isNaN && g.zeroNaNRows ? 0 : sum)
                    }
                }
            }
        }
    }
}
