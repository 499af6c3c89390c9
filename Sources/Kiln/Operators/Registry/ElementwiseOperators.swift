extension OperatorRegistry {
    static let elementwiseOperators: [any Operator.Type] = [
        // Arithmetic (numeric dtypes, broadcasting)
        Add.self, Sub.self, Mul.self, Div.self, Mod.self, Pow.self,
        Max.self, Min.self, Sum.self, Mean.self,
        Neg.self, Abs.self, Sign.self,
        // Float math
        Sqrt.self, Reciprocal.self, Exp.self, Log.self, Sin.self, Cos.self, Erf.self,
        Floor.self, Ceil.self, Round.self,
        // Activations
        Relu.self, LeakyRelu.self, PRelu.self, Elu.self, Selu.self, Sigmoid.self, HardSigmoid.self,
        HardSwish.self, Tanh.self, Gelu.self, Softplus.self, Softsign.self, Mish.self,
        // Comparison and logic (bool outputs)
        Equal.self, Less.self, Greater.self, LessOrEqual.self, GreaterOrEqual.self,
        Not.self, And.self, Or.self, Xor.self,
        // Selection and conversion
        Where.self, Clip.self, Cast.self, CastLike.self,
    ]
}
