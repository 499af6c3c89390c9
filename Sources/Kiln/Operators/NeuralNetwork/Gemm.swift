/// `Gemm`: `Y = alpha * A' * B' + beta * C` with `A' = transA ? A^T : A` (`[M, K]`),
/// `B' = transB ? B^T : B` (`[K, N]`) and optional `C` broadcast unidirectionally to `[M, N]`; float32.
///
/// `C` is written into `Y` first (scaled by `beta`) and `sgemm` accumulates onto it. When `beta`
/// is 0, `C` is ignored entirely (as BLAS and ONNX Runtime do), so a NaN in `C` does not leak.
package struct Gemm: Operator {
    package static let opType = "Gemm"

    package let alpha: Float
    package let beta: Float
    package let transposeA: Bool
    package let transposeB: Bool
    /// Applied to the output in place after the product (convert-time fusion).
    package let activation: FusedActivation?
    /// Set by ``prepare(constants:)`` when B is a constant that ``PackedMatrixMultiplication`` takes:
    /// B packed into its panels on the first run, kept for the next.
    private var packedWeights: TransformedWeightsCache?
    /// Whether the file stores B packed into ``PackedMatrixMultiplication``'s panels
    /// (``PackWeightsPass``): the kernel then reads it in place.
    package let storedWeightsPacked: Bool
    /// B back in `[K, N]` for a build without the packed kernel, made by its first run.
    private var unpackedWeights: TransformedWeightsCache?

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...3)
        activation = try FusedActivation(node: node)
        alpha = try node.float("alpha", default: 1)
        beta = try node.float("beta", default: 1)
        transposeA = try node.int("transA", default: 0) != 0
        transposeB = try node.int("transB", default: 0) != 0
        storedWeightsPacked = try PackWeightsPass.storesPanels(node)
        if storedWeightsPacked && (transposeA || alpha != 1) {
            throw OperatorError("\(PackWeightsPass.attributeName) needs transA = 0 and alpha = 1")
        }
    }

    package mutating func prepare(constants: [Tensor?]) throws {
        if storedWeightsPacked {
            guard constants.count > 1, let b = constants[1], b.dtype == .float32, b.rank == 2,
                  PackedMatrixMultiplication.supports(columns: transposeB ? b.shape[0] : b.shape[1]) else {
                throw OperatorError("\(PackWeightsPass.attributeName) needs B to be a float32 constant matrix with a multiple of \(PackedMatrixMultiplication.panelWidth) columns")
            }
            unpackedWeights = TransformedWeightsCache()
            return
        }
        guard constants.count > 1, let b = constants[1], b.dtype == .float32, b.rank == 2,
              PackedMatrixMultiplication.applies(columns: transposeB ? b.shape[0] : b.shape[1]) else { return }
        packedWeights = TransformedWeightsCache()
    }

    /// M, K, N dims of the product from the shapes of A and B, with the inner dims checked.
    private func productDims(_ a: [Dim], _ b: [Dim]) throws -> (m: Dim, n: Dim) {
        guard a.count == 2, b.count == 2 else {
            throw OperatorError("A and B must be 2-D, got shapes \(a.map(\.description)) and \(b.map(\.description))")
        }
        let (m, k1) = transposeA ? (a[1], a[0]) : (a[0], a[1])
        let (k2, n) = transposeB ? (b[1], b[0]) : (b[0], b[1])
        if let k1 = k1.value, let k2 = k2.value, k1 != k2 {
            throw OperatorError("inner dims differ: A' has \(k1) columns (transA=\(transposeA ? 1 : 0)), B' has \(k2) rows (transB=\(transposeB ? 1 : 0))")
        }
        return (m, n)
    }

    /// Checks that C (rank <= 2) broadcasts to `[m, n]` one way.
    private func checkBias(_ c: [Dim], m: Dim, n: Dim) throws {
        guard c.count <= 2 else { throw OperatorError("C must have rank <= 2, has shape \(c.map(\.description))") }
        for (dim, target) in zip(c.reversed(), [n, m]) {
            if let size = dim.value, size != 1, let targetSize = target.value, size != targetSize {
                throw OperatorError("C of shape \(c.map(\.description)) does not broadcast to [\(m), \(n)]")
            }
        }
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let a = try ShapeInference.requireType(inputs, 0)
        let b = try ShapeInference.requireType(inputs, 1)
        let c = inputs.count > 2 && inputs[2].isPresent ? try ShapeInference.requireType(inputs, 2) : nil
        for type in [a, b, c] where type != nil && type?.dtype != .float32 {
            throw OperatorError("Gemm supports float32, got \(type!.dtype)")
        }
        guard let aShape = a.shape, let bShape = b.shape else { return [TensorType(.float32, [symbols.fresh(), symbols.fresh()])] }
        let (m, n) = try productDims(aShape, bShape)
        if let cShape = c?.shape { try checkBias(cShape, m: m, n: n) }
        return [TensorType(.float32, [m, n])]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard let a = inputs[0], let b = inputs[1] else { throw OperatorError("inputs A and B are required") }
        let c = inputs.count > 2 ? inputs[2] : nil
        for tensor in [a, b, c] where tensor != nil && tensor?.dtype != .float32 {
            throw OperatorError("Gemm supports float32, got \(tensor!.dtype)")
        }
        let (mDim, nDim) = try productDims([Dim](a.shape), [Dim](b.shape))
        let m = transposeA ? a.shape[1] : a.shape[0], k = transposeA ? a.shape[0] : a.shape[1]
        let n = transposeB ? b.shape[0] : b.shape[1]
        let useBias = c != nil && beta != 0
        if let c { try checkBias([Dim](c.shape), m: mDim, n: nDim) }
        let output = try Tensor.uninitialized(.float32, shape: [m, n])
        guard output.count > 0 else { return [output] }

        try a.withUnsafePointer(as: Float.self) { left in
            try b.withUnsafePointer(as: Float.self) { right in
                try output.withUnsafeMutablePointer(as: Float.self) { y in
                    // The common linear layer (bias over the columns, no scaling): bias, product and
                    // activation block by block.
                    let biasOverColumns = c.map { beta == 1 && $0.count == n && $0.shape.last == n } ?? true
                    if !transposeA, alpha == 1, !useBias || biasOverColumns {
                        let bias = useBias ? c : nil
                        if let unpackedWeights {
                            try bias.withUnsafeFloatPointer { biasValues in
                                try PackedMatrixMultiplication.multiply(
                                    m: m, n: n, k: k, a: left, storedPacked: right, unpackedCache: unpackedWeights,
                                    bias: biasValues, residual: nil, activation: activation, c: y, context: context)
                            }
                            return
                        }
                        if let packedWeights, PackedMatrixMultiplication.supports(rows: m) {
                            try bias.withUnsafeFloatPointer { biasValues in
                                try PackedMatrixMultiplication.multiply(
                                    m: m, n: n, k: k, a: left, constant: b, transposeB: transposeB, cache: packedWeights,
                                    bias: biasValues, residual: nil, activation: activation, c: y, context: context)
                            }
                            return
                        }
                        try bias.withUnsafeFloatPointer { biasValues in
                            try MatrixMultiplication.multiplyAddingBias(m: m, n: n, k: k, a: left, b: right,
                                                                        transposeB: transposeB, bias: biasValues,
                                                                        activation: activation, c: y, context: context)
                        }
                        return
                    }
                    guard !storedWeightsPacked else {
                        throw OperatorError("B is stored packed (\(PackWeightsPass.attributeName)), which needs C to be absent or a bias over the columns with beta = 1")
                    }
                    if useBias, let c {
                        c.withUnsafePointer(as: Float.self) { bias in
                            Gemm.broadcastBias(bias, shape: c.shape, scaledBy: beta, into: y, rows: m, columns: n)
                        }
                    }
                    try MatrixMultiplication.multiply(
                        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                        a: left, lda: a.shape[1], b: right, ldb: b.shape[1], beta: useBias ? 1 : 0, c: y, ldc: n,
                        context: context)
                    if let activation {
                        context.parallelFor(m * n, minimumChunk: 16_384) { range in
                            activation.apply(y + range.lowerBound, count: range.count)
                        }
                    }
                }
            }
        }
        return [output]
    }

    /// Writes `beta * C` broadcast to `[rows, columns]`.
    private static func broadcastBias(_ bias: UnsafePointer<Float>, shape: [Int], scaledBy beta: Float,
                                      into y: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        let biasColumns = shape.last ?? 1
        let biasRows = shape.count == 2 ? shape[0] : 1
        for row in 0..<rows {
            let source = bias + (biasRows == 1 ? 0 : row * biasColumns)
            let destination = y + row * columns
            if biasColumns == 1 {
                destination.update(repeating: beta * source[0], count: columns)
            } else {
                for column in 0..<columns { destination[column] = beta * source[column] }
            }
        }
    }
}
