/// `LogSoftmax`: `x - max - log(sum(exp(x - max)))` along `axis`; float32. Opset semantics as
/// ``Softmax`` (2-D flattening before opset 13).
package struct LogSoftmax: Operator {
    package static let opType = "LogSoftmax"

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
        [try Softmax.evaluate(inputs, axis: axis, flattensToMatrix: flattensToMatrix, logarithm: true,
                              opType: Self.opType, context: context)]
    }
}
