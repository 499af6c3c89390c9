/// `Identity`: returns its input (sharing its bytes).
package struct Identity: Operator {
    package static let opType = "Identity"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        [try ShapeInference.requireType(inputs, 0)]
    }

    package func symbolicValues(_ inputs: [InferenceInput]) -> [[Dim]?] {
        [inputs.first?.symbolicValue]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard let input = inputs[0] else { throw OperatorError("input is missing") }
        return [input]
    }
}
