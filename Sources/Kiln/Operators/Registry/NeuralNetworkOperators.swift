extension OperatorRegistry {
    static let neuralNetworkOperators: [any Operator.Type] = [
    ]
}
