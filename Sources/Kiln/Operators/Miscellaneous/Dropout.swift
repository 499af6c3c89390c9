/// `Dropout` at inference: the output is the input (shared bytes) and the optional mask is all true.
/// Training mode (opset 12's `training_mode` input set to true with a non-zero ratio) is refused,
/// since its output is random.
package struct Dropout: Operator {
    package static let opType = "Dropout"

    /// The mask is bool from opset 10, the data type before.
    let boolMask: Bool

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: opset >= 12 ? 1...3 : 1...1, outputs: 1...2)
        boolMask = opset >= 10
        if opset < 7, try node.int("is_test", default: 0) == 0 {
            throw OperatorError("training-mode Dropout (is_test = 0) is not supported")
        }
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        if OperatorInput.isPresent(inputs, 2), let mode = inputs[2].type, mode.dtype != .bool {
            throw OperatorError("training_mode must be bool, got \(mode.dtype)")
        }
        return [data, TensorType(boolMask ? .bool : data.dtype, data.shape)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "data")
        if let training = OperatorInput.optional(inputs, 2) {
            guard training.dtype == .bool, training.count == 1 else {
                throw OperatorError("training_mode must be one bool, got \(training.dtype)\(training.shape)")
            }
            let ratio = OperatorInput.optional(inputs, 1)?.floats().first ?? 0.5
            if try training.scalars(as: Bool.self)[0] && ratio != 0 {
                throw OperatorError("training-mode Dropout (ratio \(ratio)) is not supported: its output is random")
            }
        }
        let maskType = boolMask ? DType.bool : data.dtype
        let mask = try Tensor.uninitialized(maskType, shape: data.shape)
        let one = ScalarTensor.make(1, dtype: maskType)
        one.withUnsafeBytes { element in
            mask.withUnsafeMutablePointer(as: UInt8.self) { destination in
                ElementFill.fill(destination, count: mask.count, value: element.baseAddress!, elementSize: maskType.byteSize)
            }
        }
        return [data, mask]
    }
}
