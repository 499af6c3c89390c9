/// `ConstantOfShape`: a tensor of the shape given by the int64 input, every element the one value of
/// the `value` attribute (float32 0 by default).
package struct ConstantOfShape: Operator {
    package static let opType = "ConstantOfShape"

    let value: Tensor

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
        if let tensor = try node.tensor("value") {
            guard tensor.count == 1 else { throw OperatorError("attribute 'value' must hold one element, has shape \(tensor.shape)") }
            value = tensor
        } else {
            value = Tensor(scalar: Float(0))
        }
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        try IndexValues.requireIntegerType(inputs, 0, name: "input")
        if let dims = inputs.first?.dimsValue {
            for (position, dim) in dims.enumerated() {
                if let size = dim.value, size < 0 { throw OperatorError("shape value \(size) at position \(position) is negative") }
            }
            return [TensorType(value.dtype, dims)]
        }
        guard let length = IndexValues.staticLength(inputs, 0) else { return [TensorType(value.dtype, nil)] }
        return [TensorType(value.dtype, (0..<length).map { _ in symbols.fresh() })]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let shape = try IndexValues.integers(OperatorInput.required(inputs, 0, name: "input"), name: "input")
        for (position, size) in shape.enumerated() where size < 0 {
            throw OperatorError("shape value \(size) at position \(position) is negative")
        }
        let output = try Tensor.uninitialized(value.dtype, shape: shape)
        value.withUnsafeBytes { element in
            output.withUnsafeMutablePointer(as: UInt8.self) { destination in
                ElementFill.fill(destination, count: output.count, value: element.baseAddress!, elementSize: value.dtype.byteSize)
            }
        }
        return [output]
    }
}
