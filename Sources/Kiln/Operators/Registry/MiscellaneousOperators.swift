extension OperatorRegistry {
    static let miscellaneousOperators: [any Operator.Type] = [
        Constant.self,
        ConstantOfShape.self,
        CumSum.self,
        Dropout.self,
        Identity.self,
        NonZero.self,
        OneHot.self,
        RangeOperator.self,
        SizeOperator.self,
        TopK.self,
        Trilu.self,
    ]
}
