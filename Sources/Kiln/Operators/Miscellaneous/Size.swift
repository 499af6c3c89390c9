/// `Size`: the input's element count as an int64 scalar; known during inference when the shape is
/// static, and carried as a symbolic value when it is one symbol (e.g. `n` for `[n, 1]`).
package struct SizeOperator: Operator {
    package static let opType = "Size"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        _ = try ShapeInference.requireType(inputs, 0)
        return [TensorType(.int64, [])]
    }

    package func staticOutputs(_ inputs: [InferenceInput]) -> [Tensor]? {
        guard let shape = inputs.first?.type?.concreteShape, let count = try? ShapeArithmetic.elementCount(shape) else { return nil }
        return [Tensor(scalar: Int64(count))]
    }

    package func symbolicValues(_ inputs: [InferenceInput]) -> [[Dim]?] {
        guard let shape = inputs.first?.type?.shape, let count = DimProduct(shape).dim else { return [] }
        return [[count]]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        [Tensor(scalar: Int64(try OperatorInput.required(inputs, 0, name: "data").count))]
    }
}
