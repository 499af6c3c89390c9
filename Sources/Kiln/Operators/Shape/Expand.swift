/// `Expand`: broadcasts the input against the `shape` input, numpy style in both directions (a 1 in
/// `shape` keeps the input's dim; the output rank is the larger of the two).
package struct Expand: Operator {
    package static let opType = "Expand"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...2)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        try IndexValues.requireIntegerType(inputs, 1, name: "shape")
        guard let shape = data.shape else { return [TensorType(data.dtype, nil)] }
        guard let requested = inputs[1].dimsValue else {
            guard let length = IndexValues.staticLength(inputs, 1) else { return [TensorType(data.dtype, nil)] }
            // Each output dim is the input's or the requested one; neither is known.
            return [TensorType(data.dtype, (0..<max(length, shape.count)).map { _ in symbols.fresh() })]
        }
        for (position, dim) in requested.enumerated() {
            if let value = dim.value, value < 0 { throw OperatorError("shape value \(value) at position \(position) is negative") }
        }
        return [TensorType(data.dtype, try ShapeInference.broadcast([shape, requested], symbols: &symbols))]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "input")
        let requested = try IndexValues.integers(OperatorInput.required(inputs, 1, name: "shape"), name: "shape")
        for (position, value) in requested.enumerated() where value < 0 {
            throw OperatorError("shape value \(value) at position \(position) is negative")
        }
        let outputShape = try ShapeInference.broadcast([data.shape, requested])
        if outputShape == data.shape { return [data] }
        return [try Expand.broadcast(data, to: outputShape, context: context)]
    }

    /// `data` repeated along its size-1 (and missing leading) axes to `outputShape`, which must be a
    /// broadcast of its shape.
    static func broadcast(_ data: Tensor, to outputShape: [Int], context: ExecutionContext) throws -> Tensor {
        let output = try Tensor.uninitialized(data.dtype, shape: outputShape)
        let inputStrides = ShapeArithmetic.strides(data.shape)
        let leading = outputShape.count - data.rank
        let sourceStrides = outputShape.indices.map { axis -> Int in
            let inputAxis = axis - leading
            return inputAxis < 0 || data.shape[inputAxis] == 1 ? 0 : inputStrides[inputAxis]
        }
        data.withUnsafePointer(as: UInt8.self) { source in
            output.withUnsafeMutablePointer(as: UInt8.self) { destination in
                StridedCopy.copy(shape: outputShape, source: source, sourceStrides: sourceStrides,
                                 destination: destination, destinationStrides: ShapeArithmetic.strides(outputShape),
                                 elementSize: data.dtype.byteSize, context: context)
            }
        }
        return output
    }
}
