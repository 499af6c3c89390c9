/// `Gather`: picks entries of `data` along `axis` by int32/int64 `indices`; the output shape is
/// `data.shape[..<axis] + indices.shape + data.shape[axis+1...]`, so scalar indices drop the axis.
/// Negative indices count from the end once; anything outside `[-size, size)` is an error.
package struct Gather: Operator {
    package static let opType = "Gather"

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
        guard let dataShape = data.shape else { return [TensorType(data.dtype, nil)] }
        let resolvedAxis = try ShapeInference.normalizeAxis(axis, rank: dataShape.count)
        if let constant = inputs[1].constant, let size = dataShape[resolvedAxis].value,
           let bad = GatherKernels.firstIndexOutOfRange(constant, bound: size) {
            throw OperatorError("index \(bad) is out of range for axis \(resolvedAxis) of size \(size)")
        }
        guard let indexShape = indices.shape else { return [TensorType(data.dtype, nil)] }
        return [TensorType(data.dtype, Array(dataShape[..<resolvedAxis]) + indexShape + dataShape[(resolvedAxis + 1)...])]
    }

    package func symbolicValues(_ inputs: [InferenceInput]) -> [[Dim]?] {
        // Picking dims out of a shape vector, e.g. `x.shape[0]` -> Gather(Shape(x), 0).
        guard let value = inputs.first?.symbolicValue, inputs.first?.type?.shape?.count == 1, axis == 0 || axis == -1,
              let picks = inputs[1].constantIntegers, inputs[1].constant?.rank ?? 2 <= 1 else { return [] }
        var result: [Dim] = []
        for pick in picks {
            let index = pick < 0 ? pick + value.count : pick
            guard index >= 0 && index < value.count else { return [] }
            result.append(value[index])
        }
        return [result]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "data")
        let indices = try OperatorInput.required(inputs, 1, name: "indices")
        guard indices.dtype == .int64 || indices.dtype == .int32 else {
            throw OperatorError("indices must be int64 or int32, got \(indices.dtype)")
        }
        let resolvedAxis = try ShapeInference.normalizeAxis(axis, rank: data.rank)
        let axisSize = data.shape[resolvedAxis]
        if let bad = GatherKernels.firstIndexOutOfRange(indices, bound: axisSize) {
            throw OperatorError("index \(bad) is out of range for axis \(resolvedAxis) of size \(axisSize)")
        }
        let outputShape = Array(data.shape[..<resolvedAxis]) + indices.shape + data.shape[(resolvedAxis + 1)...]
        let output = try Tensor.uninitialized(data.dtype, shape: outputShape)
        guard output.count > 0 else { return [output] }
        let extent = GatherKernels.GatherExtent(
            outer: data.shape[..<resolvedAxis].reduce(1, *), axisSize: axisSize,
            inner: data.shape[(resolvedAxis + 1)...].reduce(1, *), indexCount: indices.count)
        GatherKernels.gather(data: data, indices: indices, extent: extent, into: output, context: context)
        return [output]
    }
}
