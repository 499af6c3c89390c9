import CBLAS
import Foundation

/// Row-major single-precision matrix products: `C = alpha * op(A) * op(B) + beta * C`.
///
/// The fast path is OpenBLAS `cblas_sgemm`, single-threaded (sessions keep OpenBLAS's thread count
/// at 1; see `BLASLibrary.keepSingleThreaded`). Products big enough to share go through the
/// pool-split overload in `MatrixMultiplication+Parallel.swift`, which calls this one from each pool
/// thread.
package enum MatrixMultiplication {
    /// `C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C[m, n]` through `cblas_sgemm`.
    ///
    /// Handles the sizes BLAS rejects or treats loosely: nothing happens when `m` or `n` is 0, and
    /// `k == 0` gives `beta * C` (zeros when `beta == 0`, without reading `C`, which may be
    /// uninitialized). With `beta == 0`, `C` is never read.
    /// - Parameters:
    ///   - transposeA: When true `A` is stored `[k, m]` (leading dimension `lda >= m`), else `[m, k]`.
    ///   - transposeB: When true `B` is stored `[n, k]`, else `[k, n]`.
    /// - Throws: ``OperatorError`` when a size does not fit BLAS's 32-bit integers.
    package static func multiply(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) throws {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            scaleRows(c, rows: m, columns: n, leadingDimension: ldc, by: beta)
            return
        }
        // BLAS rejects leading dimensions below max(1, columns) even when they are never stepped over.
        let minimumLDA = max(1, transposeA ? m : k)
        let minimumLDB = max(1, transposeB ? k : n)
        assert(lda >= minimumLDA && ldb >= minimumLDB && ldc >= n)
        guard let m32 = Int32(exactly: m), let n32 = Int32(exactly: n), let k32 = Int32(exactly: k),
              let lda32 = Int32(exactly: max(lda, minimumLDA)), let ldb32 = Int32(exactly: max(ldb, minimumLDB)),
              let ldc32 = Int32(exactly: max(ldc, 1))
        else {
            throw OperatorError("matrix product [\(m) x \(k)] x [\(k) x \(n)] is too large for 32-bit BLAS")
        }
        if m == 1 {
            // One row (batch-1 inference through a linear layer): sgemm would pack all of B before
            // using each value once; sgemv streams it once. c = alpha * B'^T a + beta * c, where a's
            // elements are `lda` apart when A is transposed ([k, 1] with row pitch lda).
            let incrementA = transposeA ? lda32 : 1
            // Zeroed rather than scaled by 0, so whatever the buffer held (NaN included) goes.
            if beta == 0 { c.update(repeating: 0, count: n) }
            if transposeB {
                // B is [n, k]: c = B a.
                cblas_sgemv(CblasRowMajor, CblasNoTrans, n32, k32, alpha, b, ldb32, a, incrementA, beta, c, 1)
            } else {
                // B is [k, n]: c = B^T a.
                cblas_sgemv(CblasRowMajor, CblasTrans, k32, n32, alpha, b, ldb32, a, incrementA, beta, c, 1)
            }
            return
        }
        if transposeA {
            cblas_sgemm(CblasRowMajor, CblasTrans, transposeB ? CblasTrans : CblasNoTrans,
                        m32, n32, k32, alpha, a, lda32, b, ldb32, beta, c, ldc32)
        } else {
            sgemm(transposeB: transposeB, m: m32, n: n32, k: k32, alpha: alpha, a: a, lda: lda32, b: b, ldb: ldb32,
                  beta: beta, c: c, ldc: ldc32)
        }
    }

    /// `cblas_sgemm` for row-major `A` (not transposed), cut into column blocks of C where
    /// OpenBLAS's unpacked small-matrix kernel runs them faster than one packed call (see
    /// ``unpackedPath(transposeB:m:n:k:)``). The caller has checked the sizes.
    /// - Parameter finishColumns: Called with each range of C's columns as soon as sgemm has written
    ///   it (the whole of `0..<n` after a single call), so a caller's bias and activation pass over
    ///   a column block runs while the block is still in L1 instead of after the whole product.
    ///   Not optional: an optional closure parameter escapes, and its captures then cost a heap
    ///   allocation per call.
    package static func sgemm(transposeB: Bool, m: Int32, n: Int32, k: Int32, alpha: Float,
                              a: UnsafePointer<Float>, lda: Int32, b: UnsafePointer<Float>, ldb: Int32,
                              beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int32,
                              finishColumns: (Range<Int>) -> Void = { _ in }) {
        let transpose = transposeB ? CblasTrans : CblasNoTrans
        guard case .columnBlocks(let width) = unpackedPath(transposeB: transposeB, m: Int(m), n: Int(n), k: Int(k))
        else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, transpose, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            finishColumns(0..<Int(n))
            return
        }
        var start = 0
        while start < Int(n) {
            let count = min(width, Int(n) - start)
            // Columns start.. of C come from columns start.. of B, which are rows of B when it is
            // stored transposed.
            let block = transposeB ? b + start * Int(ldb) : b + start
            cblas_sgemm(CblasRowMajor, CblasNoTrans, transpose, m, Int32(count), k, alpha, a, lda, block, ldb, beta,
                        c + start, ldc)
            finishColumns(start..<(start + count))
            start += count
        }
    }

    /// How ``sgemm(transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` reaches OpenBLAS's unpacked
    /// kernel for a product.
    package enum UnpackedPath: Equatable {
        /// One call, within the kernel's limit.
        case whole
        /// Column blocks of this width, each within the limit.
        case columnBlocks(Int)
    }

    /// Whether a product with `A` not transposed takes OpenBLAS's unpacked kernel, whole or in
    /// column blocks; nil when it takes the packed path in one call. The unpacked kernel writes C
    /// without reading it when `beta` is 0; the packed path first zeroes C in a pass of its own.
    ///
    /// OpenBLAS's Skylake-X, Cooper Lake and Sapphire Rapids kernels multiply products of at most
    /// 10^6 multiply-adds without packing either operand (its "small matrix" path); above that, every
    /// call packs its operands first. Cutting C into column blocks under the limit then pays when
    /// the packing is a large share of the work: few rows of A, or a short inner dimension.
    /// Measured with OpenBLAS 0.3.21 on this project's Cooper Lake machine, single thread:
    /// - `A · Bᵀ` (Gemm with `transB = 1`, PyTorch's Linear layout), n = 512, blocks of 16 columns
    ///   against one call: k = 784 with 64 rows 578 → 503 µs, 32 rows 321 → 260, 8 rows 149 → 66,
    ///   4 rows 105 → 34; k = 1024 with 48 rows 911 → 513; k = 256 with 64 rows equal and 96 rows
    ///   255 → 316 (a loss, hence at most 64 rows). Other widths were erratic (24 and 48 columns ran
    ///   at 72-75 GFLOP/s where 16 ran at 100-110).
    /// - `A · B` (convolutions: weights times columns, and linear layers stored `[k, n]`), blocks
    ///   as wide as the limit allows in multiples of 16: 16 x 3025 x 128 (SqueezeNet's squeeze) 157
    ///   → 111 µs, 32 x 12544 x 32 380 → 243, 16 x 3136 x 512 918 → 609, 384 x 196 x 64 94 → 86;
    ///   but blocks of 16 lost (64 x 512 x 784: 565 → 699), so `A · B` needs 32 columns or more.
    package static func unpackedPath(transposeB: Bool, m: Int, n: Int, k: Int) -> UnpackedPath? {
        guard hasUnpackedSmallKernels, m > 0, n > 0, k > 0 else { return nil }
        let (rowProduct, rowOverflow) = m.multipliedReportingOverflow(by: k)
        guard !rowOverflow else { return nil }
        let (product, overflow) = rowProduct.multipliedReportingOverflow(by: n)
        if !overflow && product <= smallProductLimit { return .whole }
        if transposeB {
            guard m <= 64, rowProduct * 16 <= smallProductLimit else { return nil }
            return .columnBlocks(16)
        }
        let width = (smallProductLimit / rowProduct) / 16 * 16
        return width >= 32 ? .columnBlocks(width) : nil
    }

    /// Rows per block so that `[rows x k] x [k x n]` blocks of an `[m x k] x [k x n]` product go
    /// through OpenBLAS's unpacked kernel (a multiple of 16, at least 16), or nil when even 16 rows
    /// are too many or the whole product already does.
    package static func unpackedRowBlock(m: Int, n: Int, k: Int) -> Int? {
        guard hasUnpackedSmallKernels, m > 16, n > 0, k > 0 else { return nil }
        let (columnProduct, overflow) = n.multipliedReportingOverflow(by: k)
        guard !overflow, columnProduct * 16 <= smallProductLimit else { return nil }
        let rows = (smallProductLimit / columnProduct) / 16 * 16
        return rows < m ? rows : nil
    }

    /// Largest product (multiply-adds) OpenBLAS sends to its unpacked kernel.
    package static let smallProductLimit = 1_000_000

    /// Whether OpenBLAS runs small products through its unpacked kernels here: decided by the core
    /// it picked at run time; `KILN_BLAS_SMALL_BLOCKS=0` or `1` overrides it (for measuring).
    package static let hasUnpackedSmallKernels: Bool = {
        if let text = getenv("KILN_BLAS_SMALL_BLOCKS") { return String(cString: text) != "0" }
        guard let name = openblas_get_corename() else { return false }
        return ["skylakex", "cooperlake", "sapphirerapids"].contains(String(cString: name).lowercased())
    }()

    /// The scalar reference: a triple loop accumulating in `Double`, same contract as ``multiply``.
    package static func reference(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        for row in 0..<m {
            for column in 0..<n {
                var total = 0.0
                for inner in 0..<k {
                    let left = transposeA ? a[inner * lda + row] : a[row * lda + inner]
                    let right = transposeB ? b[column * ldb + inner] : b[inner * ldb + column]
                    total += Double(left) * Double(right)
                }
                let previous = beta == 0 ? 0 : Double(beta) * Double(c[row * ldc + column])
                c[row * ldc + column] = Float(Double(alpha) * total + previous)
            }
        }
    }

    private static func scaleRows(_ c: UnsafeMutablePointer<Float>, rows: Int, columns: Int,
                                  leadingDimension: Int, by factor: Float) {
        for row in 0..<rows {
            let line = c + row * leadingDimension
            if factor == 0 {
                line.update(repeating: 0, count: columns)
            } else {
                for column in 0..<columns { line[column] *= factor }
            }
        }
    }
}

/// Scratch memory for kernels that lower to matrix products (im2col and col2im buffers), with the
/// size checked first: the size follows from a model's shapes, so an absurd model must get an
/// error rather than a failed allocation.
package enum KernelScratch {
    /// The most floats one scratch buffer may hold (4 GiB).
    package static let maximumFloats = 1 << 30

    /// Allocates `rows * columns` floats (at least one). The caller deallocates.
    /// - Throws: ``OperatorError`` naming `purpose` when the buffer would be too large.
    package static func allocateFloats(rows: Int, columns: Int, purpose: String) throws -> UnsafeMutablePointer<Float> {
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, count <= maximumFloats else {
            throw OperatorError("the \(purpose) buffer of \(rows) x \(columns) floats is too large")
        }
        return .allocate(capacity: max(1, count))
    }
}
