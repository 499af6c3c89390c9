extension OperatorRegistry {
    static let miscellaneousOperators: [any Operator.Type] = [
        Identity.self,
    ]
}
