extension OperatorRegistry {
    static let miscellaneousOperators: [any Operator.Type] = [
        Constant.self,
        Identity.self,
    ]
}
