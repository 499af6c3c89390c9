/// `LayerNormalization` (opset 17): each row `X[i, axis...]` normalized to zero mean and unit
/// variance, then `* Scale + B`; float32. `Scale` and optional `B` broadcast to the normalized
/// shape `X.shape[axis...]`. Optional outputs `Mean` and `InvStdDev` have shape
/// `X.shape[..<axis] + [1, ..., 1]`.
package struct LayerNormalization: Operator {
    package static let opType = "LayerNormalization"

    package let axis: Int
    package let epsilon: Float

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...3, outputs: 1...3)
        axis = try node.int("axis", default: -1)
        epsilon = try node.float("epsilon", default: 1e-5)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        let scale = try ShapeInference.requireType(inputs, 1)
        let bias = inputs.count > 2 && inputs[2].isPresent ? try ShapeInference.requireType(inputs, 2) : nil
        for type in [input, scale, bias] where type != nil && type?.dtype != .float32 {
            throw OperatorError("LayerNormalization supports float32, got \(type!.dtype)")
        }
        guard let shape = input.shape else {
            return [input, TensorType(.float32, nil), TensorType(.float32, nil)]
        }
        let resolved = try ShapeInference.normalizeAxis(axis, rank: shape.count)
        let normalized = Array(shape[resolved...])
        for (name, parameter) in [("Scale", scale.shape), ("B", bias?.shape)] {
            guard let parameter else { continue }
            try Self.checkBroadcast(parameter, to: normalized, name: name)
        }
        let statistics = TensorType(.float32, Array(shape[..<resolved]) + Array(repeating: .fixed(1), count: shape.count - resolved))
        return [input, statistics, statistics]
    }

    private static func checkBroadcast(_ shape: [Dim], to target: [Dim], name: String) throws {
        let fits = shape.count <= target.count && zip(shape.reversed(), target.reversed()).allSatisfy { dim, goal in
            dim == .fixed(1) || dim == goal || dim.value == nil || goal.value == nil
        }
        guard fits else {
            throw OperatorError("\(name) of shape \(shape.map(\.description)) does not broadcast to the normalized shape \(target.map(\.description))")
        }
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard let input = inputs[0], let scale = inputs[1] else { throw OperatorError("inputs X and Scale are required") }
        let bias = inputs.count > 2 ? inputs[2] : nil
        for tensor in [input, scale, bias] where tensor != nil && tensor?.dtype != .float32 {
            throw OperatorError("LayerNormalization supports float32, got \(tensor!.dtype)")
        }
        let resolved = try ShapeInference.normalizeAxis(axis, rank: input.rank)
        let normalizedShape = Array(input.shape[resolved...])
        let rows = input.shape[..<resolved].reduce(1, *)
        let length = normalizedShape.reduce(1, *)
        let scaleValues = try Self.expanded(scale, to: normalizedShape, name: "Scale")
        let biasValues = try bias.flatMap { try Self.expanded($0, to: normalizedShape, name: "B") }
        let output = try Tensor.uninitialized(.float32, shape: input.shape)
        let statisticsShape = Array(input.shape[..<resolved]) + Array(repeating: 1, count: input.rank - resolved)
        let means = try Tensor.uninitialized(.float32, shape: statisticsShape)
        let inverseDeviations = try Tensor.uninitialized(.float32, shape: statisticsShape)
        let epsilon = epsilon
        input.withUnsafePointer(as: Float.self) { x in
            output.withUnsafeMutablePointer(as: Float.self) { y in
                means.withUnsafeMutablePointer(as: Float.self) { meanOut in
                    inverseDeviations.withUnsafeMutablePointer(as: Float.self) { inverseOut in
                        Self.withParameter(scale, expanded: scaleValues) { scalePointer in
                            Self.withParameter(bias, expanded: biasValues) { biasPointer in
                                context.parallelFor(rows, minimumChunk: max(1, 8_192 / max(length, 1))) { range in
                                    for row in range {
                                        let source = x + row * length
                                        let (mean, inverse) = NormalizationKernels.statistics(source, count: length, epsilon: epsilon)
                                        meanOut[row] = mean
                                        inverseOut[row] = inverse
                                        guard let scalePointer else { continue }
                                        NormalizationKernels.normalizeRow(source, count: length, mean: mean, inverseDeviation: inverse,
                                                                          scale: scalePointer, bias: biasPointer,
                                                                          output: y + row * length)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return [output, means, inverseDeviations]
    }

    /// `parameter` broadcast (one way, numpy rules) to `shape`, as a flat array; nil when it already
    /// has `shape`'s elements in `shape`'s order (broadcastable with as many elements: only leading
    /// 1s differ), so the kernel reads it in place instead of a copy made on every run.
    private static func expanded(_ parameter: Tensor, to shape: [Int], name: String) throws -> [Float]? {
        try checkBroadcast([Dim](parameter.shape), to: [Dim](shape), name: name)
        let count = shape.reduce(1, *)
        if parameter.count == count { return nil }
        let values = try parameter.scalars(as: Float.self)
        let sourceStrides = ShapeArithmetic.strides(parameter.shape)
        let targetStrides = ShapeArithmetic.strides(shape)
        let offset = shape.count - parameter.rank
        return (0..<count).map { index in
            var sourceIndex = 0
            for axis in 0..<parameter.rank where parameter.shape[axis] != 1 {
                sourceIndex += (index / targetStrides[axis + offset]) % shape[axis + offset] * sourceStrides[axis]
            }
            return values[sourceIndex]
        }
    }

    /// Runs `body` with `parameter`'s floats: `expanded` when it had to be broadcast, else the
    /// tensor's own (nil for an absent parameter or an empty shape).
    private static func withParameter<Result>(_ parameter: Tensor?, expanded: [Float]?,
                                              _ body: (UnsafePointer<Float>?) -> Result) -> Result {
        if let expanded { return expanded.withUnsafeBufferPointer { body($0.baseAddress) } }
        guard let parameter, parameter.count > 0 else { return body(nil) }
        return parameter.withUnsafePointer(as: Float.self) { body($0) }
    }

    /// The scalar reference in `Double`: Y, Mean and InvStdDev for rows of `length` values.
    package static func reference(_ x: [Float], length: Int, scale: [Float], bias: [Float]?, epsilon: Float)
        -> (output: [Float], mean: [Float], inverseDeviation: [Float]) {
        let rows = length == 0 ? 0 : x.count / length
        var output = [Float](repeating: 0, count: x.count)
        var means = [Float](), inverses = [Float]()
        x.withUnsafeBufferPointer { buffer in
            for row in 0..<rows {
                let (mean, inverse) = NormalizationKernels.referenceStatistics(buffer.baseAddress! + row * length,
                                                                                count: length, epsilon: epsilon)
                means.append(Float(mean))
                inverses.append(Float(inverse))
                for index in 0..<length {
                    let normalized = (Double(x[row * length + index]) - mean) * inverse
                    output[row * length + index] = Float(normalized * Double(scale[index]) + Double(bias?[index] ?? 0))
                }
            }
        }
        return (output, means, inverses)
    }
}
