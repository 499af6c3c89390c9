/// `CastLike` (opset 15): ``Cast`` to the dtype of the second input, whose values are not read.
package struct CastLike: Operator {
    package static let opType = "CastLike"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...2)
        _ = try node.int("saturate")
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        let target = try ShapeInference.requireType(inputs, 1)
        return [TensorType(target.dtype, input.shape)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let target = try Elementwise.require(inputs, 1)
        return [try Cast.convert(Elementwise.require(inputs, 0), to: target.dtype, context: context)]
    }
}
