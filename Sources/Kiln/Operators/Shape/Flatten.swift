/// `Flatten`: a 2-D view `[d0 * ... * d(axis-1), d(axis) * ... * d(r-1)]` sharing the input's bytes.
package struct Flatten: Operator {
    package static let opType = "Flatten"

    let axis: Int

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
        axis = try node.int("axis", default: 1)
        if opset < 11 && axis < 0 { throw OperatorError("axis \(axis) must be >= 0 before opset 11") }
    }

    /// `axis` resolved against `rank`; Flatten accepts [-rank, rank].
    func resolvedAxis(rank: Int) throws -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        guard resolved >= 0 && resolved <= rank else { throw OperatorError("axis \(axis) is out of range for rank \(rank)") }
        return resolved
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        guard let shape = data.shape else { return [TensorType(data.dtype, [symbols.fresh(), symbols.fresh()])] }
        let split = try resolvedAxis(rank: shape.count)
        let outer = DimProduct(shape[..<split]).dim ?? symbols.fresh()
        let inner = DimProduct(shape[split...]).dim ?? symbols.fresh()
        return [TensorType(data.dtype, [outer, inner])]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "input")
        let split = try resolvedAxis(rank: data.rank)
        let outer = try IndexValues.elementCount(Array(data.shape[..<split]))
        let inner = try IndexValues.elementCount(Array(data.shape[split...]))
        return [data.reshaped(to: [outer, inner])]
    }
}
