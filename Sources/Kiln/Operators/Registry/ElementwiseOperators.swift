extension OperatorRegistry {
    static let elementwiseOperators: [any Operator.Type] = [
        Relu.self,
    ]
}
