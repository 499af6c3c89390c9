/// `Softmax`: `exp(x - max) / sum(exp(x - max))` along `axis`; float32.
///
/// Opset 13 and later normalize along `axis` alone (default -1). Earlier opsets flatten the input
/// to 2-D at `axis` (default 1) and normalize each row of the trailing `[axis...]` block.
package struct Softmax: Operator {
    package static let opType = "Softmax"

    package let axis: Int
    package let flattensToMatrix: Bool

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
        flattensToMatrix = opset < 13
        axis = try node.int("axis", default: flattensToMatrix ? 1 : -1)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        try Softmax.inferTypes(inputs, axis: axis, opType: Self.opType)
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        [try Softmax.evaluate(inputs, axis: axis, flattensToMatrix: flattensToMatrix, logarithm: false,
                              opType: Self.opType, context: context)]
    }

    /// Shared with `LogSoftmax`: same shape and dtype as the input, axis checked.
    package static func inferTypes(_ inputs: [InferenceInput], axis: Int, opType: String) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        guard input.dtype == .float32 else { throw OperatorError("\(opType) supports float32, got \(input.dtype)") }
        if let rank = input.rank { _ = try ShapeInference.normalizeAxis(axis, rank: rank) }
        return [input]
    }

    /// Shared with `LogSoftmax`: views the input as `[outer, length, inner]` and runs the row
    /// kernel (`inner == 1`) or the column kernel on blocks of columns.
    package static func evaluate(_ inputs: [Tensor?], axis: Int, flattensToMatrix: Bool, logarithm: Bool,
                                 opType: String, context: ExecutionContext) throws -> Tensor {
        guard let input = inputs[0] else { throw OperatorError("input is required") }
        guard input.dtype == .float32 else { throw OperatorError("\(opType) supports float32, got \(input.dtype)") }
        let resolved = try ShapeInference.normalizeAxis(axis, rank: input.rank)
        let outer = input.shape[..<resolved].reduce(1, *)
        let length = flattensToMatrix ? input.shape[resolved...].reduce(1, *) : input.shape[resolved]
        let inner = flattensToMatrix ? 1 : input.shape[(resolved + 1)...].reduce(1, *)
        let output = try Tensor.uninitialized(.float32, shape: input.shape)
        guard output.count > 0 else { return output }
        input.withUnsafePointer(as: Float.self) { x in
            output.withUnsafeMutablePointer(as: Float.self) { y in
                if inner == 1 {
                    context.parallelFor(outer, minimumChunk: max(1, 8_192 / length)) { rows in
                        SoftmaxKernels.rows(x, y, rows: rows, length: length, logarithm: logarithm)
                    }
                    return
                }
                let blockWidth = 512
                let blocksPerRow = (inner + blockWidth - 1) / blockWidth
                context.parallelFor(outer * blocksPerRow, minimumChunk: max(1, 8_192 / (length * min(inner, blockWidth)))) { items in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * blockWidth)
                    defer { scratch.deallocate() }
                    for item in items {
                        let block = item / blocksPerRow, start = (item % blocksPerRow) * blockWidth
                        let offset = block * length * inner
                        SoftmaxKernels.columns(x + offset, y + offset, columns: start..<min(inner, start + blockWidth),
                                               length: length, inner: inner, logarithm: logarithm, scratch: scratch)
                    }
                }
            }
        }
        return output
    }
}
