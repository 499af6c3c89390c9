/// `BatchNormalization` in inference mode: `Y = (X - mean) / sqrt(var + epsilon) * scale + B` per
/// channel of `X [N, C, D1...Dn]`, with `scale`, `B`, `input_mean`, `input_var` all `[C]`; float32.
///
/// Training mode (`training_mode = 1`, or the running-statistics outputs) is rejected.
package struct BatchNormalization: Operator {
    package static let opType = "BatchNormalization"

    package let epsilon: Float

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 5...5, outputs: 1...5)
        epsilon = try node.float("epsilon", default: 1e-5)
        if try node.int("training_mode", default: 0) != 0 {
            throw OperatorError("training_mode=1 is not supported (inference only)")
        }
        if try node.int("spatial", default: 1) == 0 {
            throw OperatorError("spatial=0 (per-activation statistics, opset < 9) is not supported")
        }
        if node.outputs.dropFirst().contains(where: { !$0.isEmpty }) {
            throw OperatorError("the running mean/variance outputs (training mode) are not supported")
        }
    }

    private static let parameterNames = ["scale", "B", "input_mean", "input_var"]

    private func checkShapes(_ input: [Dim], _ parameters: [[Dim]?]) throws {
        guard input.count >= 2 else {
            throw OperatorError("input X must have rank >= 2 ([N, C, ...]), has shape \(input.map(\.description))")
        }
        for (name, shape) in zip(Self.parameterNames, parameters) {
            guard let shape else { continue }
            guard shape.count == 1 else { throw OperatorError("\(name) must be 1-D [C], has shape \(shape.map(\.description))") }
            if let size = shape[0].value, let channels = input[1].value, size != channels {
                throw OperatorError("\(name) has \(size) values for \(channels) channels")
            }
        }
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        let parameters = try (1...4).map { try ShapeInference.requireType(inputs, $0) }
        for type in [input] + parameters where type.dtype != .float32 {
            throw OperatorError("BatchNormalization supports float32, got \(type.dtype)")
        }
        if let shape = input.shape { try checkShapes(shape, parameters.map(\.shape)) }
        return [input]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard let input = inputs[0], let scale = inputs[1], let bias = inputs[2], let mean = inputs[3],
              let variance = inputs[4]
        else { throw OperatorError("all five inputs are required") }
        for tensor in [input, scale, bias, mean, variance] where tensor.dtype != .float32 {
            throw OperatorError("BatchNormalization supports float32, got \(tensor.dtype)")
        }
        try checkShapes([Dim](input.shape), [scale, bias, mean, variance].map { [Dim]($0.shape) })
        let batch = input.shape[0], channels = input.shape[1]
        let planeSize = input.shape[2...].reduce(1, *)
        // Fold the four parameter vectors into y = x * multiplier + addend.
        let scaleValues = try scale.scalars(as: Float.self), biasValues = try bias.scalars(as: Float.self)
        let meanValues = try mean.scalars(as: Float.self), varianceValues = try variance.scalars(as: Float.self)
        var multipliers = [Float](repeating: 0, count: channels), addends = [Float](repeating: 0, count: channels)
        for channel in 0..<channels {
            multipliers[channel] = scaleValues[channel] / (varianceValues[channel] + epsilon).squareRoot()
            addends[channel] = biasValues[channel] - meanValues[channel] * multipliers[channel]
        }
        let output = try Tensor.uninitialized(.float32, shape: input.shape)
        guard output.count > 0 else { return [output] }
        input.withUnsafePointer(as: Float.self) { x in
            output.withUnsafeMutablePointer(as: Float.self) { y in
                multipliers.withUnsafeBufferPointer { multiplier in
                    addends.withUnsafeBufferPointer { addend in
                        let multiplier = multiplier.baseAddress!, addend = addend.baseAddress!
                        if planeSize == 1 {
                            // [N, C]: vectorize along the channels of each row.
                            context.parallelFor(batch, minimumChunk: max(1, 16_384 / channels)) { rows in
                                for row in rows {
                                    let source = x + row * channels, destination = y + row * channels
                                    for channel in 0..<channels {
                                        destination[channel] = source[channel] * multiplier[channel] + addend[channel]
                                    }
                                }
                            }
                            return
                        }
                        context.parallelFor(batch * channels, minimumChunk: max(1, 16_384 / max(planeSize, 1))) { planes in
                            for plane in planes {
                                let channel = plane % channels
                                NormalizationKernels.affine(x + plane * planeSize, count: planeSize,
                                                            multiplier: multiplier[channel], addend: addend[channel],
                                                            output: y + plane * planeSize)
                            }
                        }
                    }
                }
            }
        }
        return [output]
    }

    /// The scalar reference, straight from the formula, in `Double`.
    package static func reference(_ x: [Float], shape: [Int], scale: [Float], bias: [Float], mean: [Float],
                                  variance: [Float], epsilon: Float) -> [Float] {
        let channels = shape[1], planeSize = shape[2...].reduce(1, *)
        return x.indices.map { index in
            let channel = (index / planeSize) % channels
            let normalized = (Double(x[index]) - Double(mean[channel])) / (Double(variance[channel]) + Double(epsilon)).squareRoot()
            return Float(normalized * Double(scale[channel]) + Double(bias[channel]))
        }
    }
}
