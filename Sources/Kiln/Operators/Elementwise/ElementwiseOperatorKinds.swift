/// An operator that maps each element through a Float function (Exp, Tanh, LeakyRelu...), for
/// float32 inputs and float16 ones through float32.
///
/// The operator value is itself the per-element function: its `apply` is the fast (vectorizable)
/// version, its `reference` the plain libm one the tests compare against.
package protocol FloatUnaryOperator: Operator, UnaryElementwiseFunction where Input == Float, Output == Float {
    /// The scalar reference of `apply`.
    func reference(_ x: Float) -> Float
    /// Per-element cost, for splitting work across threads.
    static var cost: Elementwise.Cost { get }
}

extension FloatUnaryOperator {
    package static var cost: Elementwise.Cost { .moderate }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        [try Elementwise.inferSameShape(inputs, allowed: Elementwise.floatDTypes)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        [try Elementwise.floatUnary(self, Elementwise.require(inputs, 0), cost: Self.cost, context: context)]
    }
}

/// An operator that maps each element of any numeric dtype (Neg, Abs, Sign).
package protocol NumericUnaryOperator: Operator, NumericUnaryOperation {}

extension NumericUnaryOperator {
    package static var mayRunInPlace: Bool { true }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        [try Elementwise.inferSameShape(inputs, allowed: Elementwise.numericDTypes)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        [try Elementwise.numericUnary(self, Elementwise.require(inputs, 0), context: context)]
    }
}

/// A two-input arithmetic operator over any numeric dtype, broadcasting (Add, Sub, Mul).
package protocol NumericBinaryOperator: Operator, NumericBinaryOperation {}

extension NumericBinaryOperator {
    package static var mayRunInPlace: Bool { true }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        [try Elementwise.inferBroadcast(inputs, allowed: Elementwise.numericDTypes, symbols: &symbols)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        [try Elementwise.numericBinary(self, Elementwise.require(inputs, 0), Elementwise.require(inputs, 1),
                                       context: context)]
    }
}

/// A comparison of two same-dtype numeric inputs, broadcasting, into bool (Less, Greater...).
package protocol ComparisonOperator: Operator, NumericComparison {}

extension ComparisonOperator {
    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        [try Elementwise.inferBroadcast(inputs, allowed: Elementwise.numericDTypes, output: .bool, symbols: &symbols)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        [try Elementwise.comparison(self, Elementwise.require(inputs, 0), Elementwise.require(inputs, 1),
                                    context: context)]
    }
}

/// Parses the legacy (opset < 7) broadcasting attributes of the arithmetic and comparison
/// operators: `broadcast` alone means numpy-style trailing alignment, which Kiln always does;
/// `axis` aligned the second input elsewhere and is not supported.
func rejectLegacyBroadcastAxis(_ node: Node) throws {
    if try node.int("broadcast", default: 0) != 0, node.attributes["axis"] != nil {
        throw OperatorError("the opset < 7 'axis' broadcasting attribute is not supported; re-export with opset >= 7")
    }
}
