extension OperatorRegistry {
    static let shapeOperators: [any Operator.Type] = [
        Concat.self,
        DepthToSpace.self,
        Expand.self,
        Flatten.self,
        Gather.self,
        GatherElements.self,
        Pad.self,
        Reshape.self,
        ScatterND.self,
        ShapeOperator.self,
        SliceOperator.self,
        SpaceToDepth.self,
        Split.self,
        Squeeze.self,
        Tile.self,
        Transpose.self,
        Unsqueeze.self,
    ]
}
