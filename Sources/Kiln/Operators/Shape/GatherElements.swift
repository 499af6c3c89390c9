/// `GatherElements`: `output[i][j][k] = data[indices[i][j][k]][j][k]` for axis 0 (likewise for other
/// axes); the output has the indices' shape. Indices are int32/int64, negative ones count from the
/// end, out-of-range ones are an error.
package struct GatherElements: Operator {
    package static let opType = "GatherElements"

    let axis: Int

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...2)
        axis = try node.int("axis", default: 0)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        let indices = try ShapeInference.requireType(inputs, 1)
        guard indices.dtype == .int64 || indices.dtype == .int32 else {
            throw OperatorError("indices must be int64 or int32, got \(indices.dtype)")
        }
        if let dataRank = data.rank, let indexRank = indices.rank {
            guard dataRank == indexRank else { throw OperatorError("indices have rank \(indexRank), data has rank \(dataRank)") }
            _ = try ShapeInference.normalizeAxis(axis, rank: dataRank)
        }
        return [TensorType(data.dtype, indices.shape)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "data")
        let indices = try OperatorInput.required(inputs, 1, name: "indices")
        guard indices.dtype == .int64 || indices.dtype == .int32 else {
            throw OperatorError("indices must be int64 or int32, got \(indices.dtype)")
        }
        guard data.rank == indices.rank else {
            throw OperatorError("indices have shape \(indices.shape), data has shape \(data.shape): ranks differ")
        }
        let resolvedAxis = try ShapeInference.normalizeAxis(axis, rank: data.rank)
        for dimension in 0..<data.rank where dimension != resolvedAxis && indices.shape[dimension] > data.shape[dimension] {
            throw OperatorError("indices have shape \(indices.shape), larger than data \(data.shape) on axis \(dimension)")
        }
        if let bad = GatherKernels.firstIndexOutOfRange(indices, bound: data.shape[resolvedAxis]) {
            throw OperatorError("index \(bad) is out of range for axis \(resolvedAxis) of size \(data.shape[resolvedAxis])")
        }
        let output = try Tensor.uninitialized(data.dtype, shape: indices.shape)
        guard output.count > 0 else { return [output] }
        GatherKernels.gatherElements(data: data, indices: indices, axis: resolvedAxis, into: output)
        return [output]
    }
}
