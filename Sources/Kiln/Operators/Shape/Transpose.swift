/// `Transpose`: output axis `i` is input axis `perm[i]`; without `perm`, the axes are reversed.
///
/// One strided copy (``StridedCopy``): permutations that keep the innermost axis in place copy whole
/// rows, 2-D-like ones go through cache-blocked tiles, the rest through a strided row loop. A
/// permutation that only moves size-1 axes returns the input's bytes without copying.
package struct Transpose: Operator {
    package static let opType = "Transpose"

    let perm: [Int]?

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
        perm = try node.ints("perm")
        if let perm {
            var seen = [Bool](repeating: false, count: perm.count)
            for value in perm {
                guard value >= 0 && value < perm.count else {
                    throw OperatorError("perm \(perm) is not a permutation: \(value) is out of range 0..<\(perm.count)")
                }
                guard !seen[value] else { throw OperatorError("perm \(perm) is not a permutation: \(value) repeats") }
                seen[value] = true
            }
        }
    }

    /// The permutation for an input of `rank`.
    func permutation(rank: Int) throws -> [Int] {
        guard let perm else { return Array((0..<rank).reversed()) }
        guard perm.count == rank else { throw OperatorError("perm \(perm) has \(perm.count) entries, the input has rank \(rank)") }
        return perm
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        guard let shape = data.shape else {
            return [TensorType(data.dtype, perm.map { $0.map { _ in symbols.fresh() } })]
        }
        return [TensorType(data.dtype, try permutation(rank: shape.count).map { shape[$0] })]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "data")
        let order = try permutation(rank: data.rank)
        let outputShape = order.map { data.shape[$0] }
        let inputStrides = ShapeArithmetic.strides(data.shape)
        let sourceStrides = order.map { inputStrides[$0] }
        let destinationStrides = ShapeArithmetic.strides(outputShape)
        let layout = StridedCopy.simplified(shape: outputShape, sourceStrides: sourceStrides,
                                            destinationStrides: destinationStrides)
        if layout.dims.isEmpty || (layout.dims.count == 1 && layout.sourceStrides[0] == 1) {
            return [data.reshaped(to: outputShape)]
        }
        let output = try Tensor.uninitialized(data.dtype, shape: outputShape)
        data.withUnsafePointer(as: UInt8.self) { source in
            output.withUnsafeMutablePointer(as: UInt8.self) { destination in
                StridedCopy.copy(shape: outputShape, source: source, sourceStrides: sourceStrides,
                                 destination: destination, destinationStrides: destinationStrides,
                                 elementSize: data.dtype.byteSize, context: context)
            }
        }
        return [output]
    }
}
