/// The attributes and evaluation shared by `ArgMax` and `ArgMin`: `axis` (default 0), `keepdims`
/// (default 1), `select_last_index` (default 0). Output is int64.
package struct ArgumentExtremum: Sendable {
    package let axis: Int
    package let keepDims: Bool
    package let selectLastIndex: Bool

    package init(node: Node) throws {
        try node.expectArity(inputs: 1...1)
        axis = try node.int("axis", default: 0)
        keepDims = try node.int("keepdims", default: 1) != 0
        selectLastIndex = try node.int("select_last_index", default: 0) != 0
    }

    package func inferTypes(_ inputs: [InferenceInput], opType: String) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        guard input.dtype == .float32 else { throw OperatorError("\(opType) supports float32, got \(input.dtype)") }
        guard var shape = input.shape else { return [TensorType(.int64, nil)] }
        let resolved = try ShapeInference.normalizeAxis(axis, rank: shape.count)
        if keepDims { shape[resolved] = .fixed(1) } else { shape.remove(at: resolved) }
        return [TensorType(.int64, shape)]
    }

    package func run(_ inputs: [Tensor?], maximum: Bool, opType: String, context: ExecutionContext) throws -> [Tensor] {
        guard let input = inputs[0] else { throw OperatorError("input data is required") }
        guard input.dtype == .float32 else { throw OperatorError("\(opType) supports float32, got \(input.dtype)") }
        let resolved = try ShapeInference.normalizeAxis(axis, rank: input.rank)
        let outer = input.shape[..<resolved].reduce(1, *), length = input.shape[resolved]
        let inner = input.shape[(resolved + 1)...].reduce(1, *)
        var shape = input.shape
        if keepDims { shape[resolved] = 1 } else { shape.remove(at: resolved) }
        let output = try Tensor.uninitialized(.int64, shape: shape)
        guard output.count > 0 else { return [output] }
        guard length > 0 else {
            throw OperatorError("\(opType) over axis \(axis), which has size 0, has no answer")
        }
        let selectLastIndex = selectLastIndex
        input.withUnsafePointer(as: Float.self) { x in
            output.withUnsafeMutablePointer(as: Int64.self) { y in
                context.parallelFor(outer, minimumChunk: max(1, 16_384 / (length * inner))) { blocks in
                    let best = UnsafeMutablePointer<Float>.allocate(capacity: inner)
                    defer { best.deallocate() }
                    for block in blocks {
                        ArgumentExtremumKernels.block(x + block * length * inner, y + block * inner, length: length, inner: inner,
                                                      maximum: maximum, lastIndex: selectLastIndex, best: best)
                    }
                }
            }
        }
        return [output]
    }
}
