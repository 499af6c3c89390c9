/// Checks of the Kiln-internal residual input `Z` (input 3) that ``FuseResidualAddPass`` gives a
/// `Conv` or `MatMul`: float32, exactly the output's shape (no broadcasting).
enum FusedResidual {
    /// At type inference: dims known on both sides must agree.
    static func checkType(_ inputs: [InferenceInput], output: [Dim]) throws {
        let residual = try ShapeInference.requireType(inputs, 3)
        guard residual.dtype == .float32 else { throw OperatorError("residual Z must be float32, is \(residual.dtype)") }
        if let shape = residual.shape, shape.count != output.count
            || zip(shape, output).contains(where: { $0.value != nil && $1.value != nil && $0 != $1 }) {
            throw OperatorError("residual Z has shape \(shape.map(\.description)), the output has \(output.map(\.description))")
        }
    }

    /// At run time: returns `Z`, or throws when it is missing or does not match `output`.
    static func checked(_ inputs: [Tensor?], output: [Int]) throws -> Tensor {
        let residual = inputs.count > 3 ? inputs[3] : nil
        guard let residual, residual.dtype == .float32, residual.shape == output else {
            throw OperatorError("residual Z must be float32 of the output's shape \(output), got \(residual.map { "\($0.dtype) \($0.shape)" } ?? "nothing")")
        }
        return residual
    }
}
