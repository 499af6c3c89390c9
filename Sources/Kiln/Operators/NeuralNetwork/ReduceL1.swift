/// `ReduceL1`: the sum of absolute values over `axes`; float32. `axes` is an input since opset 18 (an
/// attribute before); see ``ReductionAttributes`` for `keepdims` and `noop_with_empty_axes`.
package struct ReduceL1: Operator {
    package static let opType = "ReduceL1"

    package let reduction: ReductionAttributes

    package init(node: Node, opset: Int) throws {
        reduction = try ReductionAttributes(node: node)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        try reduction.inferTypes(inputs, opType: Self.opType, symbols: &symbols)
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        try reduction.run(inputs, kind: .sumOfMagnitudes, opType: Self.opType, context: context)
    }
}
