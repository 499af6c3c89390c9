/// `Trilu`: keeps the upper (`upper` = 1, default) or lower triangle of the last two axes and zeroes
/// the rest. The optional int64 scalar `k` moves the diagonal: upper keeps `column - row >= k`,
/// lower keeps `column - row <= k`.
package struct Trilu: Operator {
    package static let opType = "Trilu"

    let upper: Bool

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...2)
        upper = try node.int("upper", default: 1) != 0
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        if let rank = data.rank, rank < 2 { throw OperatorError("input must have rank >= 2, has rank \(rank)") }
        try IndexValues.requireIntegerType(inputs, 1, name: "k")
        return [data]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "input")
        guard data.rank >= 2 else { throw OperatorError("input must have rank >= 2, has shape \(data.shape)") }
        let k = try OperatorInput.optional(inputs, 1).map { try IndexValues.scalar($0, name: "k") } ?? 0
        let rows = data.shape[data.rank - 2], columns = data.shape[data.rank - 1]
        let output = try Tensor.uninitialized(data.dtype, shape: data.shape)
        guard output.count > 0 else { return [output] }
        let matrices = data.count / (rows * columns)
        // Clamped so that row + diagonal cannot overflow whatever k holds.
        let diagonal = min(max(k, -rows - 1), columns + 1)
        let size = data.dtype.byteSize
        data.withUnsafePointer(as: UInt8.self) { source in
            output.withUnsafeMutablePointer(as: UInt8.self) { destination in
                destination.update(from: source, count: data.byteCount)
                context.parallelFor(matrices * rows, minimumChunk: max(1, (1 << 16) / columns)) { range in
                    for matrixRow in range {
                        let row = matrixRow % rows
                        let line = destination + matrixRow * columns * size
                        // Zeroed columns: before row + k (upper) or after it (lower).
                        let (first, last) = upper ? (0, min(max(row + diagonal, 0), columns))
                                                  : (min(max(row + diagonal + 1, 0), columns), columns)
                        if last > first { (line + first * size).update(repeating: 0, count: (last - first) * size) }
                    }
                }
            }
        }
        return [output]
    }
}
