/// `KilnConcatConvolutions` (Kiln-internal, not ONNX; written by ``FuseConcatConvolutionsPass``):
/// channels-last group-1 convolutions of one input whose outputs a `Concat` joined along the
/// channels, as one node that writes each branch straight into its channels of the joined output.
///
/// - Inputs: `X`, then `W` and `B` of each branch in order (`B` may be omitted: "").
/// - Attributes: `pads` (4 per branch, in branch order), optionally `kiln_packed_weights` (one
///   value per branch, see ``PackWeightsPass``), and what the branches share: `strides`,
///   `dilations`, `kiln_channels_last` and a fused activation.
/// - Output: `[N, H', W', M1 + M2 + ...]`, the branches' outputs side by side per position.
///
/// Channels-last, a concatenation along the channels interleaves its inputs at every position, so
/// the memory plan cannot lay them end to end as it does for NCHW (``MemoryPlan``'s joins); a
/// separate `Concat` copied every output once more (SqueezeNet: 163 µs of a 2.2 ms run at 2 threads).
package struct KilnConcatConvolutions: Operator {
    package static let opType = "KilnConcatConvolutions"

    /// One `Conv` per branch, reading inputs `[X, W_i, B_i]`.
    private var branches: [Conv]

    package init(node: Node, opset: Int) throws {
        let count = (node.inputs.count - 1) / 2
        guard count >= 1, node.inputs.count == 1 + 2 * count else {
            throw OperatorError("inputs must be X then W and B of each branch, got \(node.inputs.count) inputs")
        }
        guard let pads = try node.ints("pads"), pads.count == 4 * count else {
            throw OperatorError("pads must hold 4 values per branch (\(4 * count))")
        }
        let packed = try node.ints(PackWeightsPass.attributeName)
        guard packed == nil || packed?.count == count else {
            throw OperatorError("\(PackWeightsPass.attributeName) must hold one value per branch (\(count))")
        }
        branches = try (0..<count).map { branch in
            var attributes = node.attributes
            attributes["pads"] = .ints(Array(pads[4 * branch..<4 * branch + 4]))
            attributes[PackWeightsPass.attributeName] = packed.map { .int($0[branch]) }
            let conv = Node(name: "\(node.name)_branch\(branch)", opType: Conv.opType,
                            inputs: [node.inputs[0], node.inputs[1 + 2 * branch], node.inputs[2 + 2 * branch]],
                            outputs: node.outputs, attributes: attributes)
            let converted = try Conv(node: conv, opset: opset)
            guard converted.channelsLast, converted.groups == 1, !converted.addsResidual else {
                throw OperatorError("branches must be channels-last group-1 convolutions without a residual")
            }
            return converted
        }
    }

    private func branchInputs<Input>(_ inputs: [Input], _ branch: Int) -> [Input] {
        [inputs[0], inputs[1 + 2 * branch], inputs[2 + 2 * branch]]
    }

    package mutating func prepare(constants: [Tensor?]) throws {
        for branch in branches.indices { try branches[branch].prepare(constants: branchInputs(constants, branch)) }
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let shapes = try branches.indices.map { branch in
            try branches[branch].inferTypes(branchInputs(inputs, branch), symbols: &symbols)[0].shape
        }
        guard let first = shapes[0], shapes.allSatisfy({ $0?.count == 4 }) else { return [TensorType(.float32, nil)] }
        for case let shape? in shapes {
            for axis in 0..<3 {
                if let size = shape[axis].value, let expected = first[axis].value, size != expected {
                    throw OperatorError("branch outputs differ: \(shape.map(\.description)) against \(first.map(\.description))")
                }
            }
        }
        let channels = shapes.map { $0?[3].value }
        let total: Dim = channels.allSatisfy { $0 != nil } ? .fixed(channels.reduce(0) { $0 + $1! }) : symbols.fresh()
        return [TensorType(.float32, Array(first[0..<3]) + [total])]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard let input = inputs[0] else { throw OperatorError("input X is required") }
        let weights = try branches.indices.map { branch in
            guard let w = inputs[1 + 2 * branch] else { throw OperatorError("W of branch \(branch) is required") }
            return w
        }
        let shapes = try branches.indices.map { branch in
            try branches[branch].runShape(input: input, weights: weights[branch], bias: inputs[2 + 2 * branch])
        }
        let first = shapes[0]
        for shape in shapes where shape.outputShape.dropLast() != first.outputShape.dropLast() {
            throw OperatorError("branch outputs differ: \(shape.outputShape) against \(first.outputShape)")
        }
        let total = shapes.reduce(0) { $0 + $1.outputChannels }
        let output = try Tensor.uninitialized(.float32, shape: Array(first.outputShape.dropLast()) + [total])
        guard output.count > 0 else { return [output] }
        try output.withUnsafeMutablePointer(as: Float.self) { y in
            var offset = 0
            for branch in branches.indices {
                try branches[branch].computeChannelsLast(input, weights[branch], inputs[2 + 2 * branch],
                                                         shape: shapes[branch], into: y + offset, outputStride: total,
                                                         context: context)
                offset += shapes[branch].outputChannels
            }
        }
        return [output]
    }
}
