/// `Einsum`: Einstein summation over any number of operands, explicit (`ij,jk->ik`) or implicit
/// (`ij,jk`) form, with `...` broadcasting, repeated labels within a term (diagonals, traces) and
/// size-1 broadcasting of a label between operands; float32 and float16 (computed in float32),
/// int32 and int64 (exact, through the scalar reference).
///
/// Evaluation (float): each operand first takes its diagonals and sums out the labels no one else
/// needs; then operands are contracted left to right, each pair as a batched matrix product
/// (`[batch, M, K] x [batch, K, N]` through `cblas_sgemm`, reading a transposed layout in place
/// when an operand already has one, as `bhqd,bhkd->bhqk` does); the result is permuted into the
/// output's label order.
package struct Einsum: Operator {
    package static let opType = "Einsum"

    package let equation: EinsumEquation

    package init(node: Node, opset: Int) throws {
        guard !node.inputs.isEmpty else { throw OperatorError("expects at least 1 input, has 0") }
        try node.expectArity(inputs: 1...Int.max)
        guard let text = try node.string("equation") else { throw OperatorError("attribute 'equation' is required") }
        equation = try EinsumEquation(text, operandCount: node.inputs.count)
    }

    private static let supported: Set<DType> = [.float32, .float16, .int32, .int64]

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let types = try inputs.indices.map { try ShapeInference.requireType(inputs, $0) }
        let dtype = types[0].dtype
        guard Self.supported.contains(dtype) else { throw OperatorError("Einsum supports float32, float16, int32 and int64, got \(dtype)") }
        if let other = types.first(where: { $0.dtype != dtype }) {
            throw OperatorError("all inputs must have one type, got \(dtype) and \(other.dtype)")
        }
        let shapes = types.compactMap(\.shape)
        guard shapes.count == types.count else {
            // Without every rank the ellipsis dims are unknown; without an ellipsis the rank is not.
            guard equation.inputs.allSatisfy({ $0.ellipsisPosition == nil }) else { return [TensorType(dtype, nil)] }
            let ranks = equation.inputs.map(\.letters.count)
            return [TensorType(dtype, equation.outputLabels(ranks: ranks).map { _ in symbols.fresh() })]
        }
        let ranks = shapes.map(\.count)
        let labels = try equation.operandLabels(ranks: ranks)
        var dims: [Int: Dim] = [:]
        for (operandLabels, shape) in zip(labels, shapes) {
            for (label, dim) in zip(operandLabels, shape) {
                switch (dims[label], dim) {
                case (nil, _), (.fixed(1)?, _): dims[label] = dim
                case (_, .fixed(1)): break
                case (.fixed(let known)?, .fixed(let size)) where known != size:
                    throw OperatorError("label '\(Self.describe(label))' has sizes \(known) and \(size)")
                case (.symbolic?, .fixed): dims[label] = dim
                default: break
                }
            }
        }
        return [TensorType(dtype, equation.outputLabels(ranks: ranks).map { dims[$0] ?? .fixed(1) })]
    }

    private static func describe(_ label: Int) -> String {
        label >= EinsumEquation.ellipsisBase ? "... dim \(label - EinsumEquation.ellipsisBase) from the right"
            : String(EinsumEquation.character(label))
    }

    /// Every label's size (the largest; the others must equal it or be 1). Repeated labels within
    /// one operand must match exactly.
    private static func labelSizes(_ labels: [[Int]], _ shapes: [[Int]]) throws -> [Int: Int] {
        var sizes: [Int: Int] = [:]
        for (operandLabels, shape) in zip(labels, shapes) {
            var own: [Int: Int] = [:]
            for (label, size) in zip(operandLabels, shape) {
                if let previous = own[label], previous != size {
                    throw OperatorError("label '\(describe(label))' repeats within one input with sizes \(previous) and \(size)")
                }
                own[label] = size
                guard let known = sizes[label], known != size else {
                    sizes[label] = size
                    continue
                }
                // Broadcasting: a size of 1 gives way to the other (even to 0).
                guard known == 1 || size == 1 else {
                    throw OperatorError("label '\(describe(label))' has sizes \(known) and \(size)")
                }
                if known == 1 { sizes[label] = size }
            }
        }
        return sizes
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let tensors = try inputs.indices.map { try OperatorInput.required(inputs, $0, name: "Inputs[\($0)]") }
        let dtype = tensors[0].dtype
        guard Self.supported.contains(dtype), tensors.allSatisfy({ $0.dtype == dtype }) else {
            throw OperatorError("inputs must share one of float32, float16, int32, int64; got \(tensors.map(\.dtype))")
        }
        let labels = try equation.operandLabels(ranks: tensors.map(\.rank))
        let outputLabels = equation.outputLabels(ranks: tensors.map(\.rank))
        let sizes = try Self.labelSizes(labels, tensors.map(\.shape))
        let outputShape = outputLabels.map { sizes[$0] ?? 1 }
        _ = try IndexValues.elementCount(outputShape)

        switch dtype {
        case .float32:
            return [try EinsumEvaluation.evaluate(tensors, labels: labels, outputLabels: outputLabels, context: context)]
        case .float16:
            let widened = try tensors.map { try Tensor(shape: $0.shape, scalars: $0.floats()) }
            let result = try EinsumEvaluation.evaluate(widened, labels: labels, outputLabels: outputLabels, context: context)
            return [try Tensor(shape: result.shape, scalars: result.floats().map { Float16($0) })]
        default:
            // The reference visits every combination of label values.
            var work = 1
            for size in sizes.values { work = try IndexValues.product(work, size, of: "the integer Einsum's iteration count") }
            let operands = tensors.map { $0.int64s() }
            let values = EinsumKernels.reference(operands, shapes: tensors.map(\.shape), labels: labels,
                                                 outputLabels: outputLabels, sizes: sizes, zero: Int64(0)) { $0 &* $1 } add: { $0 &+ $1 }
            if dtype == .int32 { return [try Tensor(shape: outputShape, scalars: values.map { Int32(truncatingIfNeeded: $0) })] }
            return [try Tensor(shape: outputShape, scalars: values)]
        }
    }
}

/// The float32 evaluation of ``Einsum``: per-operand diagonals and sums, pairwise batched matrix
/// products, final permutation.
package enum EinsumEvaluation {
    /// A float32 intermediate with one label per axis (labels unique).
    struct Operand {
        var tensor: Tensor
        var labels: [Int]
    }

    package static func evaluate(_ tensors: [Tensor], labels: [[Int]], outputLabels: [Int],
                                 context: ExecutionContext) throws -> Tensor {
        let output = Set(outputLabels)
        var result: Operand?
        for (index, tensor) in tensors.enumerated() {
            var others = output
            for (position, operandLabels) in labels.enumerated() where position != index { others.formUnion(operandLabels) }
            let prepared = try prepare(tensor, labels: labels[index], keep: others)
            guard let previous = result else {
                result = prepared
                continue
            }
            var needed = output
            for later in labels[(index + 1)...] { needed.formUnion(later) }
            result = try contract(previous, prepared, needed: needed, context: context)
        }
        guard let result else { throw OperatorError("Einsum needs at least one input") }
        return try permute(result, to: outputLabels, context: context)
    }

    /// Takes diagonals of repeated labels and sums out labels not in `keep`.
    static func prepare(_ tensor: Tensor, labels: [Int], keep: Set<Int>) throws -> Operand {
        let strides = ShapeArithmetic.strides(tensor.shape)
        var unique: [Int] = [], sizes: [Int] = [], uniqueStrides: [Int] = []
        for (axis, label) in labels.enumerated() {
            if let position = unique.firstIndex(of: label) {
                uniqueStrides[position] += strides[axis]
            } else {
                unique.append(label)
                sizes.append(tensor.shape[axis])
                uniqueStrides.append(strides[axis])
            }
        }
        let kept = unique.indices.filter { keep.contains(unique[$0]) }
        let summed = unique.indices.filter { !keep.contains(unique[$0]) }
        if summed.isEmpty && unique.count == labels.count { return Operand(tensor: tensor, labels: labels) }
        let keptSizes = kept.map { sizes[$0] }
        let output = try Tensor.uninitialized(.float32, shape: keptSizes)
        if output.count > 0 {
            tensor.withUnsafePointer(as: Float.self) { source in
                output.withUnsafeMutablePointer(as: Float.self) { destination in
                    EinsumKernels.sumStrided(source, keptSizes: keptSizes, keptStrides: kept.map { uniqueStrides[$0] },
                                             summedSizes: summed.map { sizes[$0] }, summedStrides: summed.map { uniqueStrides[$0] },
                                             into: destination)
                }
            }
        }
        return Operand(tensor: output, labels: kept.map { unique[$0] })
    }

    /// `a` and `b` contracted over their shared labels that are not `needed`; shared needed labels
    /// are batch dims. Result labels: batch, then `a`'s own, then `b`'s own.
    static func contract(_ a: Operand, _ b: Operand, needed: Set<Int>, context: ExecutionContext) throws -> Operand {
        let inB = Set(b.labels), inA = Set(a.labels)
        let batch = a.labels.filter { inB.contains($0) && needed.contains($0) }
        let contracted = a.labels.filter { inB.contains($0) && !needed.contains($0) }
        let aFree = a.labels.filter { !inB.contains($0) }
        let bFree = b.labels.filter { !inA.contains($0) }
        func size(_ operand: Operand, _ label: Int) -> Int? { operand.labels.firstIndex(of: label).map { operand.tensor.shape[$0] } }
        // A size of 1 broadcasts against the other operand's size (which may be 0).
        func shared(_ label: Int) -> Int {
            let left = size(a, label) ?? 1, right = size(b, label) ?? 1
            return left == 1 ? right : left
        }
        let batchSizes = batch.map(shared), contractedSizes = contracted.map(shared)
        let aFreeSizes = aFree.map { size(a, $0) ?? 1 }, bFreeSizes = bFree.map { size(b, $0) ?? 1 }
        let batchCount = try IndexValues.elementCount(batchSizes)
        let m = try IndexValues.elementCount(aFreeSizes), n = try IndexValues.elementCount(bFreeSizes)
        let k = try IndexValues.elementCount(contractedSizes)

        let (left, transposeLeft) = try layout(a, batch: batch, first: aFree, second: contracted, sizes: shared, context: context)
        let (right, transposeRight) = try layout(b, batch: batch, first: contracted, second: bFree, sizes: shared, context: context)
        let output = try Tensor.uninitialized(.float32, shape: batchSizes + aFreeSizes + bFreeSizes)
        if output.count > 0 {
            try left.withUnsafePointer(as: Float.self) { x in
                try right.withUnsafePointer(as: Float.self) { w in
                    try output.withUnsafeMutablePointer(as: Float.self) { y in
                        for entry in 0..<batchCount {
                            try MatrixMultiplication.multiply(
                                transposeA: transposeLeft, transposeB: transposeRight, m: m, n: n, k: k, alpha: 1,
                                a: x + entry * m * k, lda: transposeLeft ? m : k, b: w + entry * k * n,
                                ldb: transposeRight ? k : n, beta: 0, c: y + entry * m * n, ldc: n)
                        }
                    }
                }
            }
        }
        return Operand(tensor: output, labels: batch + aFree + bFree)
    }

    /// `operand` as `[batch, first, second]` (returned with `false`) or, when it is already stored
    /// as `[batch, second, first]` with no broadcast dims, as it is (returned with `true`: read it
    /// transposed).
    private static func layout(_ operand: Operand, batch: [Int], first: [Int], second: [Int], sizes: (Int) -> Int,
                               context: ExecutionContext) throws -> (Tensor, Bool) {
        let fullSizes = operand.labels.map(sizes)
        let broadcast = fullSizes != operand.tensor.shape
        // Size-1 axes can sit anywhere without moving data.
        func matches(_ order: [Int]) -> Bool {
            let wanted = order.filter { sizes($0) != 1 }, actual = operand.labels.filter { sizes($0) != 1 }
            return wanted == actual && order.count == operand.labels.count
        }
        if !broadcast && matches(batch + first + second) { return (operand.tensor, false) }
        if !broadcast && matches(batch + second + first) { return (operand.tensor, true) }
        let order = batch + first + second
        let shape = order.map(sizes)
        let result = try Tensor.uninitialized(.float32, shape: shape)
        guard result.count > 0 else { return (result, false) }
        let strides = ShapeArithmetic.strides(operand.tensor.shape)
        let sourceStrides = order.map { label -> Int in
            guard let axis = operand.labels.firstIndex(of: label) else { return 0 }
            return operand.tensor.shape[axis] == 1 ? 0 : strides[axis]
        }
        operand.tensor.withUnsafePointer(as: Float.self) { source in
            result.withUnsafeMutablePointer(as: Float.self) { destination in
                StridedCopy.copy(shape: shape, source: source, sourceStrides: sourceStrides, destination: destination,
                                 destinationStrides: ShapeArithmetic.strides(shape), elementSize: 4, context: context)
            }
        }
        return (result, false)
    }

    /// The final operand with its axes in `labels` order (every label present in `operand`).
    private static func permute(_ operand: Operand, to labels: [Int], context: ExecutionContext) throws -> Tensor {
        let shape = labels.map { label in operand.labels.firstIndex(of: label).map { operand.tensor.shape[$0] } ?? 1 }
        // Already in order, up to size-1 axes (which move no data).
        if operand.labels.count == labels.count,
           operand.labels.filter({ operand.tensor.shape[operand.labels.firstIndex(of: $0)!] != 1 })
            == labels.enumerated().filter({ shape[$0.offset] != 1 }).map(\.element) {
            return operand.tensor.reshaped(to: shape)
        }
        let result = try Tensor.uninitialized(.float32, shape: shape)
        guard result.count > 0 else { return result }
        let strides = ShapeArithmetic.strides(operand.tensor.shape)
        let sourceStrides = labels.map { label in operand.labels.firstIndex(of: label).map { strides[$0] } ?? 0 }
        operand.tensor.withUnsafePointer(as: Float.self) { source in
            result.withUnsafeMutablePointer(as: Float.self) { destination in
                StridedCopy.copy(shape: shape, source: source, sourceStrides: sourceStrides, destination: destination,
                                 destinationStrides: ShapeArithmetic.strides(shape), elementSize: 4, context: context)
            }
        }
        return result
    }
}
