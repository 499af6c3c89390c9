extension OperatorRegistry {
    static let shapeOperators: [any Operator.Type] = [
    ]
}
