import CBLAS

/// Exact products of small integer matrices (the zero-point-centred 8-bit operands of
/// `MatMulInteger`, `QLinearMatMul`, `ConvInteger` and `QLinearConv`).
///
/// The operands are held as `Double`: every 8-bit difference, every product of two of them and
/// every sum of up to 2^37 such products is an integer `Double` represents exactly, so
/// `cblas_dgemm` (FMA or not, in any order) returns exactly the integer result. `Float` would
/// round once a sum passes 2^24, which a K of a few hundred already allows.
package enum IntegerMatrixMultiplication {
    /// `C[m, n] = A[m, k] * B[k, n] (+ C when accumulate)`, row-major, through `cblas_dgemm`.
    /// - Throws: ``OperatorError`` when a size does not fit BLAS's 32-bit integers.
    package static func multiply(m: Int, n: Int, k: Int, a: UnsafePointer<Double>, lda: Int,
                                 b: UnsafePointer<Double>, ldb: Int, c: UnsafeMutablePointer<Double>, ldc: Int,
                                 accumulate: Bool = false) throws {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            if !accumulate { for row in 0..<m { (c + row * ldc).update(repeating: 0, count: n) } }
            return
        }
        guard let m32 = Int32(exactly: m), let n32 = Int32(exactly: n), let k32 = Int32(exactly: k),
              let lda32 = Int32(exactly: max(lda, k, 1)), let ldb32 = Int32(exactly: max(ldb, n, 1)),
              let ldc32 = Int32(exactly: max(ldc, n, 1))
        else {
            throw OperatorError("integer matrix product [\(m) x \(k)] x [\(k) x \(n)] is too large for 32-bit BLAS")
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m32, n32, k32, 1, a, lda32, b, ldb32,
                    accumulate ? 1 : 0, c, ldc32)
    }

    /// The scalar reference: a triple loop in `Int64`.
    package static func reference(m: Int, n: Int, k: Int, a: UnsafePointer<Double>, lda: Int,
                                  b: UnsafePointer<Double>, ldb: Int, c: UnsafeMutablePointer<Double>, ldc: Int) {
        for row in 0..<m {
            for column in 0..<n {
                var total: Int64 = 0
                for inner in 0..<k { total += Int64(a[row * lda + inner]) * Int64(b[inner * ldb + column]) }
                c[row * ldc + column] = Double(total)
            }
        }
    }

    /// `values - zeroPoint` as `Double`s, with the zero point broadcast (numpy rules) to `values`.
    /// - Parameter zeroPointShape: The shape to broadcast the zero point from (a per-row zero point
    ///   is passed as `[M, 1]`).
    package static func centered(_ values: Tensor, zeroPoint: Tensor?, zeroPointShape: [Int]) -> [Double] {
        let raw = values.floats()
        guard let zeroPoint else { return raw.map(Double.init) }
        let offsets = zeroPoint.floats()
        if offsets.count == 1 { return raw.map { Double($0 - offsets[0]) } }
        var result = [Double](repeating: 0, count: raw.count)
        for index in raw.indices {
            let source = BroadcastKernel.sourceIndex(index, outputShape: values.shape, operandShape: zeroPointShape)
            result[index] = Double(raw[index] - offsets[source])
        }
        return result
    }

    /// numpy `matmul` over `Double` operands of shapes `aShape` and `bShape` (1-D operands promoted
    /// and their added dim dropped, batch dims broadcast): the output and its shape.
    package static func matmul(_ a: [Double], _ aShape: [Int], _ b: [Double], _ bShape: [Int]) throws -> (values: [Double], shape: [Int]) {
        guard !aShape.isEmpty, !bShape.isEmpty else {
            throw OperatorError("matrix product inputs must have rank >= 1, got shapes \(aShape) and \(bShape)")
        }
        let left = aShape.count == 1 ? [1] + aShape : aShape
        let right = bShape.count == 1 ? bShape + [1] : bShape
        let m = left[left.count - 2], k = left[left.count - 1], n = right[right.count - 1]
        guard right[right.count - 2] == k else {
            throw OperatorError("inner dims differ: A \(aShape) has \(k), B \(bShape) has \(right[right.count - 2])")
        }
        let leftBatch = Array(left.dropLast(2)), rightBatch = Array(right.dropLast(2))
        let batch = try ShapeInference.broadcast([leftBatch, rightBatch])
        var shape = batch
        if aShape.count > 1 { shape.append(m) }
        if bShape.count > 1 { shape.append(n) }
        let batchCount = try IndexValues.elementCount(batch)
        let total = try IndexValues.elementCount(shape)
        var result = [Double](repeating: 0, count: total)
        guard total > 0, k > 0 else { return (result, shape) }
        try a.withUnsafeBufferPointer { x in
            try b.withUnsafeBufferPointer { w in
                try result.withUnsafeMutableBufferPointer { y in
                    for entry in 0..<batchCount {
                        let leftEntry = BroadcastKernel.sourceIndex(entry, outputShape: batch, operandShape: leftBatch)
                        let rightEntry = BroadcastKernel.sourceIndex(entry, outputShape: batch, operandShape: rightBatch)
                        try multiply(m: m, n: n, k: k, a: x.baseAddress! + leftEntry * m * k, lda: k,
                                     b: w.baseAddress! + rightEntry * k * n, ldb: n,
                                     c: y.baseAddress! + entry * m * n, ldc: n)
                    }
                }
            }
        }
        return (result, shape)
    }

    /// An integer-valued `Double` as `Int32`, wrapping as a 32-bit accumulator would.
    @inline(__always)
    package static func int32(_ value: Double) -> Int32 {
        // Sums of 8-bit products stay far below 2^63; the guard only keeps a NaN or absurd value from trapping.
        guard value.magnitude < 9.0e18 else { return 0 }
        return Int32(truncatingIfNeeded: Int64(value))
    }
}
