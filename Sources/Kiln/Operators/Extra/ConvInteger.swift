/// `ConvInteger`: `Conv` over uint8/int8 input `x` and weights `w` after subtracting their optional
/// zero points, giving exact int32 results; padding counts as the zero point (0 after centring).
/// Attributes as `Conv` (`auto_pad`, `kernel_shape`, `strides`, `dilations`, `pads`, `group`);
/// `w_zero_point` may hold one value per output channel.
package struct ConvInteger: Operator {
    package static let opType = "ConvInteger"

    package let convolution: IntegerConvolution

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...4)
        convolution = try IntegerConvolution(node: node)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let x = try ShapeInference.requireType(inputs, 0)
        let w = try ShapeInference.requireType(inputs, 1)
        try QuantizedMatrixProduct.checkOperand(x.dtype, zeroPoint: OperatorInput.isPresent(inputs, 2) ? inputs[2].type?.dtype : nil, name: "x")
        try QuantizedMatrixProduct.checkOperand(w.dtype, zeroPoint: OperatorInput.isPresent(inputs, 3) ? inputs[3].type?.dtype : nil, name: "w")
        return [TensorType(.int32, try convolution.inferShape(input: x.shape, weights: w.shape, symbols: &symbols))]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let x = try OperatorInput.required(inputs, 0, name: "x")
        let w = try OperatorInput.required(inputs, 1, name: "w")
        let result = try convolution.accumulate(x, zeroPoint: OperatorInput.optional(inputs, 2),
                                                w, zeroPoint: OperatorInput.optional(inputs, 3), context: context)
        return [try Tensor(shape: result.shape, scalars: result.values.map(IntegerMatrixMultiplication.int32))]
    }
}
