/// `ConvTranspose`: the transpose (gradient) of `Conv` over `X [N, C, D1...Dn]` with
/// `W [C, M/group, k1...kn]` and optional bias `B [M]`; float32.
///
/// Output size per axis: `stride * (in - 1) + output_padding + (k - 1) * dilation + 1 - pads`,
/// or `output_shape` (then pads are derived: the extra one goes at the end for SAME_UPPER, at the
/// beginning otherwise, as the spec says), or `in * stride` for `auto_pad` SAME_*.
/// Evaluation: one `sgemm` per image and group (`W^T X` into a column matrix), then a threaded
/// col2im scatter-add over output channels.
package struct ConvTranspose: Operator {
    package static let opType = "ConvTranspose"

    package let window: SlidingWindowAttributes
    package let groups: Int
    package let outputPadding: [Int]?
    package let outputShape: [Int]?

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...3)
        window = try SlidingWindowAttributes(node: node)
        groups = try node.int("group", default: 1)
        guard groups >= 1 else { throw OperatorError("group must be at least 1, got \(groups)") }
        outputPadding = try node.ints("output_padding")
        outputShape = try node.ints("output_shape")
        if let outputPadding, outputPadding.contains(where: { $0 < 0 }) {
            throw OperatorError("output_padding \(outputPadding) must not be negative")
        }
        if let outputShape, outputShape.contains(where: { $0 < 0 }) {
            throw OperatorError("output_shape \(outputShape) must not be negative")
        }
    }

    /// Checks the static shapes and returns the kernel's spatial dims when known.
    private func checkShapes(input: [Dim], weights: [Dim], bias: [Dim]?) throws -> [Int]? {
        guard input.count >= 3 else {
            throw OperatorError("input X must have rank >= 3 ([N, C, spatial...]), has shape \(input.map(\.description))")
        }
        guard weights.count == input.count else {
            throw OperatorError("weights W have rank \(weights.count) (shape \(weights.map(\.description))), input X has rank \(input.count)")
        }
        let spatialRank = input.count - 2
        try window.checkSpatialRank(spatialRank)
        if let outputPadding, outputPadding.count != spatialRank {
            throw OperatorError("output_padding \(outputPadding) has \(outputPadding.count) entries for \(spatialRank) spatial axes")
        }
        if let outputShape, outputShape.count != spatialRank && outputShape.count != spatialRank + 2 {
            throw OperatorError("output_shape \(outputShape) has \(outputShape.count) entries for \(spatialRank) spatial axes")
        }
        if let channels = input[1].value {
            guard channels % groups == 0 else { throw OperatorError("input channels \(channels) are not divisible by group \(groups)") }
            if let weightChannels = weights[0].value, weightChannels != channels {
                throw OperatorError("W has \(weightChannels) input channels (dim 0), X has \(channels)")
            }
        }
        if let bias {
            guard bias.count == 1 else { throw OperatorError("bias B must be 1-D, has shape \(bias.map(\.description))") }
            if let biasSize = bias[0].value, let perGroup = weights[1].value, biasSize != perGroup * groups {
                throw OperatorError("bias B has \(biasSize) values for \(perGroup * groups) output channels")
            }
        }
        let weightKernel = weights[2...].map(\.value)
        if let kernelShape = window.kernelShape {
            for (axis, size) in weightKernel.enumerated() where size != nil && size != kernelShape[axis] {
                throw OperatorError("kernel_shape \(kernelShape) does not match W's spatial dims \(weights[2...].map(\.description))")
            }
            return kernelShape
        }
        guard weightKernel.allSatisfy({ $0 != nil }) else { return nil }
        return weightKernel.map { $0! }
    }

    /// Output size and pads of one spatial axis.
    private func resolveAxis(_ axis: Int, input: Int, kernel: Int, stride: Int, dilation: Int, padBegin: Int,
                             padEnd: Int, spatialRank: Int) throws -> (output: Int, padBegin: Int, padEnd: Int) {
        let extent = (kernel - 1) * dilation + 1
        let extra = outputPadding?[axis] ?? 0
        let full = stride * (input - 1) + extra + extent
        var target: Int? = nil
        if let outputShape { target = outputShape[outputShape.count - spatialRank + axis] }
        if target == nil && (window.autoPad == .sameUpper || window.autoPad == .sameLower) { target = input * stride }
        let result: (output: Int, padBegin: Int, padEnd: Int)
        if let target {
            let total = full - target
            let half = IntegerDivision.floor(total, 2)
            result = window.autoPad == .sameUpper ? (target, half, total - half) : (target, total - half, half)
        } else if window.autoPad == .valid {
            result = (full, 0, 0)
        } else {
            result = (full - padBegin - padEnd, padBegin, padEnd)
        }
        guard result.output >= 0 else {
            throw OperatorError("spatial axis \(axis): output size \(result.output) is negative (input \(input), pads \(padBegin)+\(padEnd))")
        }
        return result
    }

    /// The geometry in the roles ``TransposedConvolutionKernels`` expects (output as `inputSize`).
    private func geometry(inputSize: [Int], kernel: [Int]) throws -> SlidingWindowGeometry {
        let rank = inputSize.count
        let strides = window.strides(rank: rank), dilations = window.dilations(rank: rank)
        var (padsBegin, padsEnd) = window.pads(rank: rank)
        var outputSize = [Int](repeating: 0, count: rank)
        for axis in 0..<rank {
            (outputSize[axis], padsBegin[axis], padsEnd[axis]) = try resolveAxis(
                axis, input: inputSize[axis], kernel: kernel[axis], stride: strides[axis], dilation: dilations[axis],
                padBegin: padsBegin[axis], padEnd: padsEnd[axis], spatialRank: rank)
        }
        return SlidingWindowGeometry(inputSize: outputSize, outputSize: inputSize, kernel: kernel, strides: strides,
                                     dilations: dilations, padsBegin: padsBegin, padsEnd: padsEnd)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        let weights = try ShapeInference.requireType(inputs, 1)
        let bias = inputs.count > 2 && inputs[2].isPresent ? try ShapeInference.requireType(inputs, 2) : nil
        for (name, type) in [("X", input), ("W", weights), ("B", bias)] {
            if let type, type.dtype != .float32 { throw OperatorError("ConvTranspose supports float32, \(name) is \(type.dtype)") }
        }
        guard let inputShape = input.shape, let weightShape = weights.shape else {
            guard let rank = input.rank ?? weights.rank else { return [TensorType(.float32, nil)] }
            return [TensorType(.float32, (0..<rank).map { _ in symbols.fresh() })]
        }
        let kernel = try checkShapes(input: inputShape, weights: weightShape, bias: bias?.shape)
        let outputChannels: Dim = weightShape[1].value.map { .fixed($0 * groups) } ?? symbols.fresh()
        let rank = inputShape.count - 2
        var spatial: [Dim] = []
        for axis in 0..<rank {
            if let kernel, let size = inputShape[axis + 2].value {
                let strides = window.strides(rank: rank), dilations = window.dilations(rank: rank)
                let (padsBegin, padsEnd) = window.pads(rank: rank)
                spatial.append(.fixed(try resolveAxis(axis, input: size, kernel: kernel[axis], stride: strides[axis],
                                                      dilation: dilations[axis], padBegin: padsBegin[axis],
                                                      padEnd: padsEnd[axis], spatialRank: rank).output))
            } else if let outputShape {
                spatial.append(.fixed(outputShape[outputShape.count - rank + axis]))
            } else {
                spatial.append(symbols.fresh())
            }
        }
        return [TensorType(.float32, [inputShape[0], outputChannels] + spatial)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard let input = inputs[0], let weights = inputs[1] else { throw OperatorError("inputs X and W are required") }
        let bias = inputs.count > 2 ? inputs[2] : nil
        for (name, tensor) in [("X", input), ("W", weights), ("B", bias)] {
            if let tensor, tensor.dtype != .float32 { throw OperatorError("ConvTranspose supports float32, \(name) is \(tensor.dtype)") }
        }
        guard let kernel = try checkShapes(input: [Dim](input.shape), weights: [Dim](weights.shape),
                                           bias: bias.map { [Dim]($0.shape) })
        else { throw OperatorError("kernel shape is unknown") }
        let geometry = try geometry(inputSize: Array(input.shape[2...]), kernel: kernel)
        let batch = input.shape[0], channels = input.shape[1]
        let outputsPerGroup = weights.shape[1], outputChannels = outputsPerGroup * groups
        let output = try Tensor.uninitialized(.float32, shape: [batch, outputChannels] + geometry.inputSize)
        guard output.count > 0 else { return [output] }

        let channelsPerGroup = channels / groups
        let planeVolume = geometry.inputVolume, positions = geometry.outputVolume
        let columnRows = outputsPerGroup * geometry.kernelVolume
        let columns = try KernelScratch.floats(rows: columnRows, columns: positions, purpose: "col2im")
        defer { KernelScratch.release(columns) }
        try input.withUnsafePointer(as: Float.self) { x in
            try weights.withUnsafePointer(as: Float.self) { w in
                try output.withUnsafeMutablePointer(as: Float.self) { y in
                    let biasValues = try bias?.scalars(as: Float.self)
                    for image in 0..<batch {
                        for group in 0..<groups {
                            let groupOutput = y + (image * outputChannels + group * outputsPerGroup) * planeVolume
                            for channel in 0..<outputsPerGroup {
                                (groupOutput + channel * planeVolume).update(
                                    repeating: biasValues?[group * outputsPerGroup + channel] ?? 0, count: planeVolume)
                            }
                            try MatrixMultiplication.multiply(
                                transposeA: true, transposeB: false, m: columnRows, n: positions, k: channelsPerGroup, alpha: 1,
                                a: w + group * channelsPerGroup * columnRows, lda: columnRows,
                                b: x + (image * channels + group * channelsPerGroup) * positions, ldb: positions,
                                beta: 0, c: columns, ldc: positions)
                            let work = max(1, geometry.kernelVolume * positions)
                            context.parallelFor(outputsPerGroup, minimumChunk: max(1, 16_384 / work)) { range in
                                TransposedConvolutionKernels.col2im(columns, geometry: geometry, channelRange: range,
                                                                    into: groupOutput)
                            }
                        }
                    }
                }
            }
        }
        return [output]
    }
}
