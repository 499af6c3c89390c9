/// `DepthToSpace`: moves `blocksize`² channel groups of an NCHW tensor into spatial blocks, giving
/// `[N, C / b², H * b, W * b]`. Mode `DCR` (default) takes the block position from the outer part of
/// the channel index, `CRD` from the inner part.
package struct DepthToSpace: Operator {
    package static let opType = "DepthToSpace"

    let blockSize: Int
    let columnRowDepth: Bool

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
        guard let blockSize = try node.int("blocksize") else { throw OperatorError("attribute 'blocksize' is required") }
        guard blockSize > 0 && blockSize < 1 << 16 else { throw OperatorError("blocksize \(blockSize) must be in 1..<65536") }
        self.blockSize = blockSize
        let mode = try node.string("mode", default: "DCR")
        guard mode == "DCR" || mode == "CRD" else { throw OperatorError("mode '\(mode)' must be DCR or CRD") }
        columnRowDepth = mode == "CRD"
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        guard let shape = data.shape else { return [TensorType(data.dtype, nil)] }
        guard shape.count == 4 else { throw OperatorError("input must have rank 4 (NCHW), has rank \(shape.count)") }
        let groups = blockSize * blockSize
        func scaled(_ dim: Dim, by factor: Int) throws -> Dim {
            if let size = dim.value { return .fixed(try IndexValues.product(size, factor, of: "scaling \(size) by \(factor)")) }
            return factor == 1 ? dim : symbols.fresh()
        }
        var depth: Dim = groups == 1 ? shape[1] : symbols.fresh()
        if let channels = shape[1].value {
            try checkChannels(channels)
            depth = .fixed(channels / groups)
        }
        return [TensorType(data.dtype, [shape[0], depth, try scaled(shape[2], by: blockSize), try scaled(shape[3], by: blockSize)])]
    }

    private func checkChannels(_ channels: Int) throws {
        let groups = blockSize * blockSize
        guard channels % groups == 0 else {
            throw OperatorError("channels \(channels) are not a multiple of blocksize² = \(groups)")
        }
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "input")
        guard data.rank == 4 else { throw OperatorError("input must have rank 4 (NCHW), has shape \(data.shape)") }
        try checkChannels(data.shape[1])
        let (batch, height, width) = (data.shape[0], data.shape[2], data.shape[3])
        let b = blockSize, depth = data.shape[1] / (b * b)
        let output = try Tensor.uninitialized(data.dtype, shape: [batch, depth, try IndexValues.product(height, b, of: "the height"),
                                                                  try IndexValues.product(width, b, of: "the width")])
        guard output.count > 0 else { return [output] }
        let plane = height * width
        // Output viewed as [N, C', H, b(i), W, b(j)]; each source stride says where that coordinate
        // lives in the input's channel index.
        let view = [batch, depth, height, b, width, b]
        let sourceStrides = columnRowDepth
            ? [data.shape[1] * plane, b * b * plane, width, b * plane, 1, plane]
            : [data.shape[1] * plane, plane, width, b * depth * plane, 1, depth * plane]
        data.withUnsafePointer(as: UInt8.self) { source in
            output.withUnsafeMutablePointer(as: UInt8.self) { destination in
                StridedCopy.copy(shape: view, source: source, sourceStrides: sourceStrides, destination: destination,
                                 destinationStrides: ShapeArithmetic.strides(view), elementSize: data.dtype.byteSize, context: context)
            }
        }
        return [output]
    }
}
