/// `InstanceNormalization`: each channel plane of `X [N, C, D1...Dn]` normalized to zero mean and
/// unit variance over its spatial positions, then `* scale[c] + B[c]`; float32.
package struct InstanceNormalization: Operator {
    package static let opType = "InstanceNormalization"

    package let epsilon: Float

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 3...3)
        epsilon = try node.float("epsilon", default: 1e-5)
    }

    private func checkShapes(_ input: [Dim], scale: [Dim]?, bias: [Dim]?) throws {
        guard input.count >= 3 else {
            throw OperatorError("input X must have rank >= 3 ([N, C, spatial...]), has shape \(input.map(\.description))")
        }
        for (name, shape) in [("scale", scale), ("B", bias)] {
            guard let shape else { continue }
            guard shape.count == 1 else { throw OperatorError("\(name) must be 1-D [C], has shape \(shape.map(\.description))") }
            if let size = shape[0].value, let channels = input[1].value, size != channels {
                throw OperatorError("\(name) has \(size) values for \(channels) channels")
            }
        }
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        let scale = try ShapeInference.requireType(inputs, 1), bias = try ShapeInference.requireType(inputs, 2)
        for type in [input, scale, bias] where type.dtype != .float32 {
            throw OperatorError("InstanceNormalization supports float32, got \(type.dtype)")
        }
        if let shape = input.shape { try checkShapes(shape, scale: scale.shape, bias: bias.shape) }
        return [input]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard let input = inputs[0], let scale = inputs[1], let bias = inputs[2] else {
            throw OperatorError("inputs X, scale and B are required")
        }
        for tensor in [input, scale, bias] where tensor.dtype != .float32 {
            throw OperatorError("InstanceNormalization supports float32, got \(tensor.dtype)")
        }
        try checkShapes([Dim](input.shape), scale: [Dim](scale.shape), bias: [Dim](bias.shape))
        let channels = input.shape[1], planes = input.shape[0] * channels
        let planeSize = input.shape[2...].reduce(1, *)
        let output = try Tensor.uninitialized(.float32, shape: input.shape)
        guard output.count > 0 else { return [output] }
        let epsilon = epsilon
        input.withUnsafePointer(as: Float.self) { x in
            output.withUnsafeMutablePointer(as: Float.self) { y in
                scale.withUnsafePointer(as: Float.self) { gamma in
                    bias.withUnsafePointer(as: Float.self) { beta in
                        context.parallelFor(planes, minimumChunk: max(1, 8_192 / planeSize)) { range in
                            for plane in range {
                                let channel = plane % channels
                                let source = x + plane * planeSize
                                let (mean, inverse) = NormalizationKernels.statistics(source, count: planeSize, epsilon: epsilon)
                                let multiplier = inverse * gamma[channel]
                                NormalizationKernels.affine(source, count: planeSize, multiplier: multiplier,
                                                            addend: beta[channel] - mean * multiplier, output: y + plane * planeSize)
                            }
                        }
                    }
                }
            }
        }
        return [output]
    }

    /// The scalar reference in `Double`.
    package static func reference(_ x: [Float], shape: [Int], scale: [Float], bias: [Float], epsilon: Float) -> [Float] {
        let channels = shape[1], planeSize = shape[2...].reduce(1, *)
        var output = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { buffer in
            for plane in 0..<(planeSize == 0 ? 0 : x.count / planeSize) {
                let channel = plane % channels
                let (mean, inverse) = NormalizationKernels.referenceStatistics(buffer.baseAddress! + plane * planeSize,
                                                                                count: planeSize, epsilon: epsilon)
                for index in 0..<planeSize {
                    let normalized = (Double(x[plane * planeSize + index]) - mean) * inverse
                    output[plane * planeSize + index] = Float(normalized * Double(scale[channel]) + Double(bias[channel]))
                }
            }
        }
        return output
    }
}
