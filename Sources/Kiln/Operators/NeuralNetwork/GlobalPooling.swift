/// The evaluation shared by `GlobalAveragePool` and `GlobalMaxPool`: each channel plane of
/// `X [N, C, D1...Dn]` reduced to one value, giving `[N, C, 1, ..., 1]`.
///
/// With the Kiln-internal attribute `kiln_channels_last = 1` (set by ``ChannelsLastPass`` where a
/// channels-last chain ends in the pooling), X is `[N, D1...Dn, C]` instead; the output is the same.
package enum GlobalPooling {
    package static func channelsLast(_ node: Node) throws -> Bool {
        try node.int(ChannelsLastPass.attributeName, default: 0) != 0
    }

    package static func inferTypes(_ inputs: [InferenceInput], opType: String, channelsLast: Bool) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        guard input.dtype == .float32 else { throw OperatorError("\(opType) supports float32, got \(input.dtype)") }
        guard let shape = input.shape else { return [TensorType(.float32, nil)] }
        guard shape.count >= 2 else {
            throw OperatorError("input X must have rank >= 2 ([N, C, spatial...]), has shape \(shape.map(\.description))")
        }
        let channels = channelsLast ? shape[shape.count - 1] : shape[1]
        return [TensorType(.float32, [shape[0], channels] + Array(repeating: .fixed(1), count: shape.count - 2))]
    }

    package static func run(_ inputs: [Tensor?], kind: ReductionKind, opType: String, channelsLast: Bool,
                            context: ExecutionContext) throws -> [Tensor] {
        guard let input = inputs[0] else { throw OperatorError("input X is required") }
        guard input.dtype == .float32 else { throw OperatorError("\(opType) supports float32, got \(input.dtype)") }
        guard input.rank >= 2 else {
            throw OperatorError("input X must have rank >= 2 ([N, C, spatial...]), has shape \(input.shape)")
        }
        let batch = input.shape[0], channels = channelsLast ? input.shape[input.rank - 1] : input.shape[1]
        let planes = batch * channels
        let planeSize = channelsLast ? input.shape[1..<(input.rank - 1)].reduce(1, *) : input.shape[2...].reduce(1, *)
        let output = try Tensor.uninitialized(.float32, shape: [batch, channels] + Array(repeating: 1, count: input.rank - 2))
        guard planes > 0 else { return [output] }
        output.withUnsafeMutablePointer(as: Float.self) { y in
            guard planeSize > 0 else {
                y.update(repeating: kind.emptyValue, count: planes)
                return
            }
            input.withUnsafePointer(as: Float.self) { x in
                guard channelsLast else {
                    context.parallelFor(planes, minimumChunk: max(1, 32_768 / planeSize)) { range in
                        ReductionKernels.rows(x, y, rows: range, length: planeSize, kind: kind)
                    }
                    return
                }
                // Each image is a [positions, channels] block reduced along its positions. (The
                // scratch is only read by logSumExp, which global pooling never asks for.)
                for image in 0..<batch {
                    let block = x + image * planeSize * channels, result = y + image * channels
                    context.parallelFor(channels, minimumChunk: max(16, 32_768 / planeSize)) { range in
                        ReductionKernels.columns(block, result, columns: range, length: planeSize, inner: channels,
                                                 kind: kind, scratch: result + range.lowerBound)
                    }
                }
            }
        }
        return [output]
    }
}
