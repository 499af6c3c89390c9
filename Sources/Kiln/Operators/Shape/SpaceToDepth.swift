/// `SpaceToDepth`: the inverse of `DepthToSpace` in DCR mode: `blocksize` x `blocksize` spatial
/// blocks of an NCHW tensor become channels, giving `[N, C * b², H / b, W / b]`.
package struct SpaceToDepth: Operator {
    package static let opType = "SpaceToDepth"

    let blockSize: Int

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
        guard let blockSize = try node.int("blocksize") else { throw OperatorError("attribute 'blocksize' is required") }
        guard blockSize > 0 && blockSize < 1 << 16 else { throw OperatorError("blocksize \(blockSize) must be in 1..<65536") }
        self.blockSize = blockSize
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        guard let shape = data.shape else { return [TensorType(data.dtype, nil)] }
        guard shape.count == 4 else { throw OperatorError("input must have rank 4 (NCHW), has rank \(shape.count)") }
        func divided(_ dim: Dim, axis: String) throws -> Dim {
            guard let size = dim.value else { return blockSize == 1 ? dim : symbols.fresh() }
            guard size % blockSize == 0 else { throw OperatorError("\(axis) \(size) is not a multiple of blocksize \(blockSize)") }
            return .fixed(size / blockSize)
        }
        var channels: Dim = blockSize == 1 ? shape[1] : symbols.fresh()
        if let size = shape[1].value {
            channels = .fixed(try IndexValues.product(size, blockSize * blockSize, of: "the channel count"))
        }
        return [TensorType(data.dtype, [shape[0], channels, try divided(shape[2], axis: "height"), try divided(shape[3], axis: "width")])]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "input")
        guard data.rank == 4 else { throw OperatorError("input must have rank 4 (NCHW), has shape \(data.shape)") }
        let (batch, channels, height, width) = (data.shape[0], data.shape[1], data.shape[2], data.shape[3])
        let b = blockSize
        guard height % b == 0, width % b == 0 else {
            throw OperatorError("height \(height) and width \(width) must be multiples of blocksize \(b)")
        }
        let output = try Tensor.uninitialized(data.dtype, shape: [batch, try IndexValues.product(channels, b * b, of: "the channel count"),
                                                                  height / b, width / b])
        guard output.count > 0 else { return [output] }
        // Output viewed as [N, b(i), b(j), C, H', W'] reading input[n, c, h * b + i, w * b + j].
        let view = [batch, b, b, channels, height / b, width / b]
        let sourceStrides = [channels * height * width, width, 1, height * width, b * width, b]
        data.withUnsafePointer(as: UInt8.self) { source in
            output.withUnsafeMutablePointer(as: UInt8.self) { destination in
                StridedCopy.copy(shape: view, source: source, sourceStrides: sourceStrides, destination: destination,
                                 destinationStrides: ShapeArithmetic.strides(view), elementSize: data.dtype.byteSize, context: context)
            }
        }
        return [output]
    }
}
