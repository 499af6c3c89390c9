extension OperatorRegistry {
    static let shapeOperators: [any Operator.Type] = [
        Concat.self,
        Expand.self,
        Flatten.self,
        Gather.self,
        Reshape.self,
        ShapeOperator.self,
        SliceOperator.self,
        Squeeze.self,
        Transpose.self,
        Unsqueeze.self,
    ]
}
