/// `Constant`: a tensor given by exactly one attribute: `value` (a tensor), `value_float`,
/// `value_floats`, `value_int` or `value_ints` (scalars are rank 0, lists rank 1; ints are int64).
/// Its type and value are known during inference.
package struct Constant: Operator {
    package static let opType = "Constant"

    let value: Tensor

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 0...0)
        let given = node.attributes.keys.sorted()
        for unsupported in ["sparse_value", "value_string", "value_strings"] where given.contains(unsupported) {
            throw OperatorError("attribute '\(unsupported)' is not supported")
        }
        let valueAttributes = given.filter { $0 == "value" || $0.hasPrefix("value_") }
        guard valueAttributes.count == 1 else {
            throw OperatorError("needs exactly one of value, value_float, value_floats, value_int, value_ints; has \(valueAttributes)")
        }
        switch valueAttributes[0] {
        case "value":
            guard let tensor = try node.tensor("value") else { throw OperatorError("attribute 'value' is missing") }
            value = tensor
        case "value_float":
            guard let scalar = try node.float("value_float") else { throw OperatorError("attribute 'value_float' is missing") }
            value = Tensor(scalar: scalar)
        case "value_floats":
            let scalars = try node.floats("value_floats") ?? []
            value = try Tensor(shape: [scalars.count], scalars: scalars)
        case "value_int":
            guard let scalar = try node.int("value_int") else { throw OperatorError("attribute 'value_int' is missing") }
            value = Tensor(scalar: Int64(scalar))
        case "value_ints":
            let scalars = try node.ints("value_ints") ?? []
            value = try Tensor(shape: [scalars.count], scalars: scalars.map { Int64($0) })
        default:
            throw OperatorError("attribute '\(valueAttributes[0])' is not supported")
        }
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        [TensorType(value.dtype, [Dim](value.shape))]
    }

    package func staticOutputs(_ inputs: [InferenceInput]) -> [Tensor]? { [value] }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] { [value] }
}
