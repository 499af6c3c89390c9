/// `MatMul`: numpy `matmul` semantics over float32. A 1-D `A` is a row vector (`[1, K]`) and a 1-D
/// `B` a column vector (`[K, 1]`), the added dim being removed from the result; leading (batch)
/// dims broadcast.
///
/// When `B` has no batch dims of its own (the common `[batch, seq, K] x [K, N]` case) the whole
/// product is one `sgemm` with `M = batch * seq`; otherwise one `sgemm` per broadcast batch entry.
///
/// Convert-time fusion (``MatMulAddToGemmPass``, ``FuseActivationPass``) can give it a third input,
/// a bias `[N]` added to every row (Kiln-internal attribute `kiln_bias = 1`), and an activation
/// (``FusedActivation``): a transformer's linear layer then runs as one node.
package struct MatMul: Operator {
    package static let opType = "MatMul"
    /// Marks a `MatMul` whose third input is a bias over the last output dim.
    package static let biasAttributeName = "kiln_bias"

    package let addsBias: Bool
    /// Whether a fourth input `Z` of the output's shape is added before the activation
    /// (``FuseResidualAddPass``; the bias slot is then "" when there is no bias).
    package let addsResidual: Bool
    package let activation: FusedActivation?
    /// Set by ``prepare(constants:)`` when B is a constant matrix that ``PackedMatrixMultiplication``
    /// takes: B packed into its panels on the first run, kept for the next.
    private var packedWeights: TransformedWeightsCache?
    /// Whether the file stores B packed into ``PackedMatrixMultiplication``'s panels
    /// (``PackWeightsPass``): the kernel then reads it in place.
    package let storedWeightsPacked: Bool
    /// B back in `[K, N]` for a build without the packed kernel, made by its first run.
    private var unpackedWeights: TransformedWeightsCache?

    package init(node: Node, opset: Int) throws {
        addsBias = try node.int(Self.biasAttributeName, default: 0) != 0
        addsResidual = try node.int(FuseResidualAddPass.attributeName, default: 0) != 0
        activation = try FusedActivation(node: node)
        try node.expectArity(inputs: addsResidual ? 4...4 : (addsBias ? 3...3 : 2...2))
        storedWeightsPacked = try PackWeightsPass.storesPanels(node)
    }

    package mutating func prepare(constants: [Tensor?]) throws {
        if storedWeightsPacked {
            guard constants.count > 1, let b = constants[1], b.dtype == .float32, b.rank == 2,
                  PackedMatrixMultiplication.supports(columns: b.shape[1]) else {
                throw OperatorError("\(PackWeightsPass.attributeName) needs B to be a float32 constant matrix with a multiple of \(PackedMatrixMultiplication.panelWidth) columns")
            }
            unpackedWeights = TransformedWeightsCache()
            return
        }
        guard constants.count > 1, let b = constants[1], b.dtype == .float32, b.rank == 2,
              PackedMatrixMultiplication.applies(columns: b.shape[1]) else { return }
        packedWeights = TransformedWeightsCache()
    }

    /// Checks the fused bias against the product's last dim.
    private func checkBias(_ bias: [Dim], columns: Dim?) throws {
        guard bias.count == 1 else { throw OperatorError("the fused bias must be 1-D, has shape \(bias.map(\.description))") }
        if let size = bias[0].value, let columns = columns?.value, size != columns {
            throw OperatorError("the fused bias has \(size) values for \(columns) output columns")
        }
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let a = try ShapeInference.requireType(inputs, 0)
        let b = try ShapeInference.requireType(inputs, 1)
        guard a.dtype == .float32, b.dtype == .float32 else {
            throw OperatorError("MatMul supports float32, got \(a.dtype) x \(b.dtype)")
        }
        guard let aShape = a.shape, let bShape = b.shape else { return [TensorType(.float32, nil)] }
        guard !aShape.isEmpty, !bShape.isEmpty else {
            throw OperatorError("MatMul inputs must have rank >= 1, got shapes \(aShape.map(\.description)) and \(bShape.map(\.description))")
        }
        let left = aShape.count == 1 ? [Dim.fixed(1)] + aShape : aShape
        let right = bShape.count == 1 ? bShape + [Dim.fixed(1)] : bShape
        if let k1 = left[left.count - 1].value, let k2 = right[right.count - 2].value, k1 != k2 {
            throw OperatorError("inner dims differ: A \(aShape.map(\.description)) has \(k1), B \(bShape.map(\.description)) has \(k2)")
        }
        var shape = try ShapeInference.broadcast([Array(left.dropLast(2)), Array(right.dropLast(2))], symbols: &symbols)
        if aShape.count > 1 { shape.append(left[left.count - 2]) }
        if bShape.count > 1 { shape.append(right[right.count - 1]) }
        if addsBias {
            let bias = try ShapeInference.requireType(inputs, 2)
            guard bias.dtype == .float32 else { throw OperatorError("the fused bias must be float32, is \(bias.dtype)") }
            if let biasShape = bias.shape { try checkBias(biasShape, columns: bShape.count > 1 ? right[right.count - 1] : nil) }
        }
        if addsResidual { try FusedResidual.checkType(inputs, output: shape) }
        return [TensorType(.float32, shape)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard let a = inputs[0], let b = inputs[1] else { throw OperatorError("inputs A and B are required") }
        guard a.dtype == .float32, b.dtype == .float32 else {
            throw OperatorError("MatMul supports float32, got \(a.dtype) x \(b.dtype)")
        }
        guard a.rank >= 1, b.rank >= 1 else {
            throw OperatorError("MatMul inputs must have rank >= 1, got shapes \(a.shape) and \(b.shape)")
        }
        let left = a.rank == 1 ? [1] + a.shape : a.shape
        let right = b.rank == 1 ? b.shape + [1] : b.shape
        let m = left[left.count - 2], k = left[left.count - 1]
        let n = right[right.count - 1]
        guard right[right.count - 2] == k else {
            throw OperatorError("inner dims differ: A \(a.shape) has \(k), B \(b.shape) has \(right[right.count - 2])")
        }
        let leftBatch = Array(left.dropLast(2)), rightBatch = Array(right.dropLast(2))
        let batch = try ShapeInference.broadcast([leftBatch, rightBatch])
        var outputShape = batch
        if a.rank > 1 { outputShape.append(m) }
        if b.rank > 1 { outputShape.append(n) }
        let bias = addsBias ? inputs[2] : nil
        if addsBias {
            guard let bias, bias.dtype == .float32 else { throw OperatorError("the fused bias must be a float32 tensor") }
            // A 1-D B has no column dim: the product's last dim is then 1.
            try checkBias([Dim](bias.shape), columns: .fixed(n))
        }
        let residual = addsResidual ? try FusedResidual.checked(inputs, output: outputShape) : nil
        let output = try Tensor.uninitialized(.float32, shape: outputShape)
        guard output.count > 0 else { return [output] }

        try a.withUnsafePointer(as: Float.self) { x in
            try b.withUnsafePointer(as: Float.self) { w in
                try output.withUnsafeMutablePointer(as: Float.self) { y in
                    if rightBatch.allSatisfy({ $0 == 1 }) && leftBatch.count == batch.count {
                        // B is one matrix: fold A's batch dims into its rows.
                        let rows = leftBatch.reduce(1, *) * m
                        if let unpackedWeights {
                            try bias.withUnsafeFloatPointer { biasValues in
                                try residual.withUnsafeFloatPointer { residualValues in
                                    try PackedMatrixMultiplication.multiply(
                                        m: rows, n: n, k: k, a: x, storedPacked: w, unpackedCache: unpackedWeights,
                                        bias: biasValues, residual: residualValues, activation: activation, c: y,
                                        context: context)
                                }
                            }
                        } else if let packedWeights, b.rank == 2, PackedMatrixMultiplication.supports(rows: rows) {
                            try bias.withUnsafeFloatPointer { biasValues in
                                try residual.withUnsafeFloatPointer { residualValues in
                                    try PackedMatrixMultiplication.multiply(
                                        m: rows, n: n, k: k, a: x, constant: b, transposeB: false, cache: packedWeights,
                                        bias: biasValues, residual: residualValues, activation: activation, c: y,
                                        context: context)
                                }
                            }
                        } else if addsBias || addsResidual || activation != nil {
                            try bias.withUnsafeFloatPointer { biasValues in
                                try residual.withUnsafeFloatPointer { residualValues in
                                    try MatrixMultiplication.multiplyAddingBias(
                                        m: rows, n: n, k: k, a: x, b: w, bias: biasValues, residual: residualValues,
                                        activation: activation, c: y, context: context)
                                }
                            }
                        } else {
                            try MatrixMultiplication.multiply(transposeA: false, transposeB: false, m: rows, n: n, k: k,
                                                              alpha: 1, a: x, lda: k, b: w, ldb: n, beta: 0, c: y, ldc: n,
                                                              context: context)
                        }
                        return
                    }
                    guard !storedWeightsPacked else { throw OperatorError("B is stored packed but the product is batched") }
                    let leftStrides = MatMul.broadcastStrides(leftBatch, to: batch, matrixSize: m * k)
                    let rightStrides = MatMul.broadcastStrides(rightBatch, to: batch, matrixSize: k * n)
                    let batchStrides = ShapeArithmetic.strides(batch)
                    let batchCount = batch.reduce(1, *)
                    for entry in 0..<batchCount {
                        var leftOffset = 0, rightOffset = 0, remainder = entry
                        for axis in 0..<batch.count {
                            let coordinate = remainder / batchStrides[axis]
                            remainder %= batchStrides[axis]
                            leftOffset += coordinate * leftStrides[axis]
                            rightOffset += coordinate * rightStrides[axis]
                        }
                        try MatrixMultiplication.multiply(
                            transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1, a: x + leftOffset, lda: k,
                            b: w + rightOffset, ldb: n, beta: 0, c: y + entry * m * n, ldc: n)
                    }
                    // Batched products take the fused bias, residual and activation in a pass of their own.
                    guard addsBias || addsResidual || activation != nil else { return }
                    try bias.withUnsafeFloatPointer { biasValues in
                        try residual.withUnsafeFloatPointer { residualValues in
                            let total = output.count
                            context.parallelFor(total / n, minimumChunk: max(1, 16_384 / n)) { rows in
                                for row in rows {
                                    let values = y + row * n
                                    if let biasValues { for column in 0..<n { values[column] += biasValues[column] } }
                                    if let residualValues {
                                        let added = residualValues + row * n
                                        for column in 0..<n { values[column] += added[column] }
                                    }
                                    activation?.apply(values, count: n)
                                }
                            }
                        }
                    }
                }
            }
        }
        return [output]
    }

    /// Element strides of each broadcast batch axis in an operand whose batch dims are `shape`
    /// (right-aligned against `target`): 0 where the operand is broadcast.
    private static func broadcastStrides(_ shape: [Int], to target: [Int], matrixSize: Int) -> [Int] {
        var strides = [Int](repeating: 0, count: target.count)
        var running = matrixSize
        for offset in stride(from: shape.count - 1, through: 0, by: -1) {
            let axis = target.count - shape.count + offset
            strides[axis] = shape[offset] == 1 ? 0 : running
            running *= shape[offset]
        }
        return strides
    }
}
