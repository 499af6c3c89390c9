/// `Split`: cuts the input along `axis` into the node's outputs. Sizes come from the `split`
/// attribute (before opset 13) or input (from 13); otherwise the axis is cut into equal parts
/// (`num_outputs` at opset 18 names their count), the last one smaller when it does not divide.
package struct Split: Operator {
    package static let opType = "Split"

    let axis: Int
    let outputCount: Int
    let splitAttribute: [Int]?
    let splitFromInput: Bool

    package init(node: Node, opset: Int) throws {
        guard !node.outputs.isEmpty else { throw OperatorError("expects at least 1 output, has 0") }
        outputCount = node.outputs.count
        axis = try node.int("axis", default: 0)
        if opset < 13 {
            try node.expectArity(inputs: 1...1, outputs: 1...Int.max)
            splitAttribute = try node.ints("split")
            splitFromInput = false
        } else {
            try node.expectArity(inputs: 1...2, outputs: 1...Int.max)
            splitAttribute = nil
            splitFromInput = node.inputs.count == 2 && !node.inputs[1].isEmpty
        }
        if let count = try node.int("num_outputs") {
            guard count == outputCount else { throw OperatorError("num_outputs is \(count) but the node has \(outputCount) outputs") }
            guard !splitFromInput else { throw OperatorError("give either the split input or num_outputs, not both") }
        }
        if let splitAttribute { try Split.checkSizes(splitAttribute, outputCount: outputCount) }
    }

    static func checkSizes(_ sizes: [Int], outputCount: Int) throws {
        guard sizes.count == outputCount else {
            throw OperatorError("split has \(sizes.count) values but the node has \(outputCount) outputs")
        }
        if let negative = sizes.first(where: { $0 < 0 }) { throw OperatorError("split value \(negative) is negative") }
    }

    /// Sizes of the parts of an axis of `dim`, given explicit sizes or not.
    func sizes(dim: Int, explicit: [Int]?) throws -> [Int] {
        if let explicit {
            try Split.checkSizes(explicit, outputCount: outputCount)
            let total = try IndexValues.sum(explicit, of: "the split sizes")
            guard total == dim else { throw OperatorError("split sizes \(explicit) add up to \(total), the axis has size \(dim)") }
            return explicit
        }
        let chunk = (dim + outputCount - 1) / outputCount
        let last = dim - chunk * (outputCount - 1)
        guard last >= 0 else { throw OperatorError("cannot split an axis of size \(dim) into \(outputCount) parts of \(chunk)") }
        return [Int](repeating: chunk, count: outputCount - 1) + [last]
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        if splitFromInput { try IndexValues.requireIntegerType(inputs, 1, name: "split") }
        guard let shape = data.shape else { return [TensorType](repeating: TensorType(data.dtype, nil), count: outputCount) }
        let resolvedAxis = try ShapeInference.normalizeAxis(axis, rank: shape.count)
        let explicit = splitFromInput ? inputs[1].constantIntegers : splitAttribute
        var dims: [Dim]
        if let dim = shape[resolvedAxis].value, !(splitFromInput && explicit == nil) {
            dims = try sizes(dim: dim, explicit: explicit).map(Dim.fixed)
        } else if let explicit {
            try Split.checkSizes(explicit, outputCount: outputCount)
            dims = explicit.map(Dim.fixed)
        } else if outputCount == 1 {
            dims = [shape[resolvedAxis]]
        } else {
            dims = (0..<outputCount).map { _ in symbols.fresh() }
        }
        return dims.map { dim in
            var outputShape = shape
            outputShape[resolvedAxis] = dim
            return TensorType(data.dtype, outputShape)
        }
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "input")
        let resolvedAxis = try ShapeInference.normalizeAxis(axis, rank: data.rank)
        var explicit = splitAttribute
        if splitFromInput, let tensor = OperatorInput.optional(inputs, 1) {
            explicit = try IndexValues.integers(tensor, name: "split")
        }
        let parts = try sizes(dim: data.shape[resolvedAxis], explicit: explicit)
        if parts.count == 1 { return [data] }
        let strides = ShapeArithmetic.strides(data.shape)
        let size = data.dtype.byteSize
        var offset = 0
        return try parts.map { part in
            var outputShape = data.shape
            outputShape[resolvedAxis] = part
            let output = try Tensor.uninitialized(data.dtype, shape: outputShape)
            data.withUnsafePointer(as: UInt8.self) { source in
                output.withUnsafeMutablePointer(as: UInt8.self) { destination in
                    StridedCopy.copy(shape: outputShape, source: source + offset * strides[resolvedAxis] * size,
                                     sourceStrides: strides, destination: destination,
                                     destinationStrides: ShapeArithmetic.strides(outputShape), elementSize: size, context: context)
                }
            }
            offset += part
            return output
        }
    }
}
