/// `Min`: the smallest of any number of inputs (at least one), elementwise with multidirectional
/// broadcasting, for every numeric dtype. NaN wins over any number.
package struct Min: Operator, NumericBinaryOperation {
    package static let opType = "Min"

    package init(node: Node, opset: Int) throws {
        guard !node.inputs.isEmpty else { throw OperatorError("expects at least 1 input, has 0") }
        try node.expectArity(inputs: 1...node.inputs.count)
    }

    @inline(__always)
    package func apply<Scalar: ElementwiseNumeric>(_ a: Scalar, _ b: Scalar) -> Scalar { Scalar.minimum(a, b) }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        [try Elementwise.inferBroadcast(inputs, allowed: Elementwise.numericDTypes, symbols: &symbols)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        [try Elementwise.numericFold(self, inputs, context: context)]
    }
}
