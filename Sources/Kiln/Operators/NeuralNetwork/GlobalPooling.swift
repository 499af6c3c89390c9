/// The evaluation shared by `GlobalAveragePool` and `GlobalMaxPool`: each channel plane of
/// `X [N, C, D1...Dn]` reduced to one value, giving `[N, C, 1, ..., 1]`.
package enum GlobalPooling {
    package static func inferTypes(_ inputs: [InferenceInput], opType: String) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        guard input.dtype == .float32 else { throw OperatorError("\(opType) supports float32, got \(input.dtype)") }
        guard let shape = input.shape else { return [TensorType(.float32, nil)] }
        guard shape.count >= 2 else {
            throw OperatorError("input X must have rank >= 2 ([N, C, spatial...]), has shape \(shape.map(\.description))")
        }
        return [TensorType(.float32, Array(shape[0..<2]) + Array(repeating: .fixed(1), count: shape.count - 2))]
    }

    package static func run(_ inputs: [Tensor?], kind: ReductionKind, opType: String,
                            context: ExecutionContext) throws -> [Tensor] {
        guard let input = inputs[0] else { throw OperatorError("input X is required") }
        guard input.dtype == .float32 else { throw OperatorError("\(opType) supports float32, got \(input.dtype)") }
        guard input.rank >= 2 else {
            throw OperatorError("input X must have rank >= 2 ([N, C, spatial...]), has shape \(input.shape)")
        }
        let planes = input.shape[0] * input.shape[1]
        let planeSize = input.shape[2...].reduce(1, *)
        let output = try Tensor.uninitialized(.float32, shape: Array(input.shape[0..<2]) + Array(repeating: 1, count: input.rank - 2))
        guard planes > 0 else { return [output] }
        output.withUnsafeMutablePointer(as: Float.self) { y in
            guard planeSize > 0 else {
                y.update(repeating: kind.emptyValue, count: planes)
                return
            }
            input.withUnsafePointer(as: Float.self) { x in
                context.parallelFor(planes, minimumChunk: max(1, 32_768 / planeSize)) { range in
                    ReductionKernels.rows(x, y, rows: range, length: planeSize, kind: kind)
                }
            }
        }
        return [output]
    }
}
