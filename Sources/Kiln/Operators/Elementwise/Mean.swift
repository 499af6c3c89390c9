/// `Mean`: the average of any number of inputs (at least one), elementwise with multidirectional
/// broadcasting: their sum divided by their count. Float32 and float16.
package struct Mean: Operator {
    package static let opType = "Mean"

    package init(node: Node, opset: Int) throws {
        guard !node.inputs.isEmpty else { throw OperatorError("expects at least 1 input, has 0") }
        try node.expectArity(inputs: 1...node.inputs.count)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        [try Elementwise.inferBroadcast(inputs, allowed: Elementwise.floatDTypes, symbols: &symbols)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let first = try Elementwise.require(inputs, 0)
        try Elementwise.checkDType(first.dtype, allowed: Elementwise.floatDTypes, operand: "input 0")
        let sum = try Elementwise.numericFold(Addition(), inputs, context: context)
        guard inputs.count > 1 else { return [sum] }
        let count: Tensor = first.dtype == .float16
            ? Tensor(scalar: Float16(inputs.count)) : Tensor(scalar: Float(inputs.count))
        return [try Elementwise.numericBinary(Division(), sum, count, context: context)]
    }

    struct Addition: NumericBinaryOperation {
        @inline(__always) func apply<Scalar: ElementwiseNumeric>(_ a: Scalar, _ b: Scalar) -> Scalar { Scalar.add(a, b) }
    }

    struct Division: NumericBinaryOperation {
        @inline(__always) func apply<Scalar: ElementwiseNumeric>(_ a: Scalar, _ b: Scalar) -> Scalar { Scalar.divide(a, b) }
    }
}
