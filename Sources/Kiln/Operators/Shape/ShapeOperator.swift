/// `Shape`: the input's dims as a 1-D int64 tensor; from opset 15 `start`/`end` select a range of
/// axes (negative counts from the back, clamped to `[0, rank]`).
///
/// When the selected dims are all fixed, the result is known before any input arrives
/// (``staticOutputs(_:)``), so later shape arithmetic folds to constants; when some are symbolic,
/// inference carries them as a symbolic value.
package struct ShapeOperator: Operator {
    package static let opType = "Shape"

    let start: Int
    let end: Int?

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
        start = try node.int("start", default: 0)
        end = try node.int("end")
    }

    /// The selected axes for an input of `rank`.
    func selectedAxes(rank: Int) -> Range<Int> {
        func clamp(_ value: Int) -> Int { min(max(value < 0 ? value + rank : value, 0), rank) }
        let first = clamp(start), last = clamp(end ?? rank)
        return first..<max(first, last)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        guard let shape = data.shape else { return [TensorType(.int64, [symbols.fresh()])] }
        return [TensorType(.int64, [.fixed(selectedAxes(rank: shape.count).count)])]
    }

    package func staticOutputs(_ inputs: [InferenceInput]) -> [Tensor]? {
        guard let shape = inputs.first?.type?.shape else { return nil }
        let dims = shape[selectedAxes(rank: shape.count)]
        guard let values = TensorType(.int64, Array(dims)).concreteShape else { return nil }
        return try? [Tensor(shape: [values.count], scalars: values.map { Int64($0) })]
    }

    package func symbolicValues(_ inputs: [InferenceInput]) -> [[Dim]?] {
        guard let shape = inputs.first?.type?.shape else { return [] }
        return [Array(shape[selectedAxes(rank: shape.count)])]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "data")
        let values = data.shape[selectedAxes(rank: data.rank)].map { Int64($0) }
        return [try Tensor(shape: [values.count], scalars: values)]
    }
}
