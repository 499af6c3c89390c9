/// `ReduceMax`: the maximum (-inf over an empty set) over `axes`; float32, and through
/// ``ExtremumReduction`` float16, the integer types and bool. `axes` is an input since opset 18 (an
/// attribute before); see ``ReductionAttributes`` for `keepdims` and `noop_with_empty_axes`.
package struct ReduceMax: Operator {
    package static let opType = "ReduceMax"

    package let reduction: ReductionAttributes

    package init(node: Node, opset: Int) throws {
        reduction = try ReductionAttributes(node: node)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        try ExtremumReduction.inferTypes(inputs, reduction: reduction, opType: Self.opType, symbols: &symbols)
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        if let dtype = inputs.first??.dtype, ExtremumReduction.dtypes.contains(dtype) {
            return [try ExtremumReduction.run(inputs, reduction: reduction, maximum: true)]
        }
        return try reduction.run(inputs, kind: .maximum, opType: Self.opType, context: context)
    }
}
