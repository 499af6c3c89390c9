/// `GlobalMaxPool`: the maximum of each channel plane; float32.
package struct GlobalMaxPool: Operator {
    package static let opType = "GlobalMaxPool"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        try GlobalPooling.inferTypes(inputs, opType: Self.opType)
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        try GlobalPooling.run(inputs, kind: .maximum, opType: Self.opType, context: context)
    }
}
