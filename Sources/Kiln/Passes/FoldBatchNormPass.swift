/// Folds an inference `BatchNormalization` into the `Conv` or `Gemm` producing its input.
///
/// With `s = gamma / sqrt(var + eps)` per channel, `BN(W*x + b) = (s*W)*x + (s*(b - mean) + beta)`:
/// the weights of output channel `m` are scaled by `s[m]` and the bias replaced. Applies when the
/// producer's output has no other reader and every parameter is a float32 initializer.
public struct FoldBatchNormPass: GraphPass {
    public let name = "fold_batch_norm"

    public init() {}

    public func run(_ graph: inout Graph) throws -> Int {
        var fired = 0
        var index = 0
        while index < graph.nodes.count {
            if try fold(at: index, in: &graph) { fired += 1 } else { index += 1 }
        }
        return fired
    }

    private func fold(at index: Int, in graph: inout Graph) throws -> Bool {
        let norm = graph.nodes[index]
        guard norm.opType == "BatchNormalization", norm.domain.isEmpty, norm.inputs.count == 5,
              graph.onlyFirstOutputUsed(norm, useCounts: graph.useCounts()),
              try norm.int("training_mode", default: 0) == 0 else { return false }
        let source = norm.inputs[0]
        guard let producerIndex = graph.producers()[source], graph.useCounts()[source] == 1,
              !graph.isGraphOutput(source) else { return false }
        let producer = graph.nodes[producerIndex]
        guard producer.domain.isEmpty, producer.attributes[FusedActivation.attributeName] == nil else { return false }
        let parameters = norm.inputs[1...4].map { graph.constant($0) }
        guard parameters.allSatisfy({ $0?.dtype == .float32 }) else { return false }
        let gamma = parameters[0]!.floats(), beta = parameters[1]!.floats()
        let mean = parameters[2]!.floats(), variance = parameters[3]!.floats()
        let channels = gamma.count
        guard [beta.count, mean.count, variance.count].allSatisfy({ $0 == channels }) else { return false }
        let epsilon = try norm.float("epsilon", default: 1e-5)
        let scale = (0..<channels).map { gamma[$0] / (variance[$0] + epsilon).squareRoot() }

        var rewritten = producer
        switch producer.opType {
        case "Conv":
            guard let weights = graph.constant(producer.inputs[1]), weights.dtype == .float32,
                  weights.shape.first == channels, let rank = graph.rank(source), rank >= 3 else { return false }
            let oldBias = producer.inputs.count > 2 ? producer.inputs[2] : ""
            guard let bias = biasValues(oldBias, channels: channels, graph: graph) else { return false }
            let perChannel = weights.count / max(channels, 1)
            var w = weights.floats()
            for channel in 0..<channels {
                for offset in 0..<perChannel { w[channel * perChannel + offset] *= scale[channel] }
            }
            let b = (0..<channels).map { scale[$0] * (bias[$0] - mean[$0]) + beta[$0] }
            rewritten.inputs = [producer.inputs[0],
                                add(try Tensor(shape: weights.shape, scalars: w), "\(producer.name)_bn_weights", &graph),
                                add(try Tensor(shape: [channels], scalars: b), "\(producer.name)_bn_bias", &graph)]
        case "Gemm":
            guard let weights = graph.constant(producer.inputs[1]), weights.dtype == .float32, weights.shape.count == 2,
                  graph.rank(source) == 2 else { return false }
            let transposed = try producer.int("transB", default: 0) != 0
            let columns = transposed ? weights.shape[0] : weights.shape[1]
            guard columns == channels else { return false }
            let alpha = try producer.float("alpha", default: 1), betaScale = try producer.float("beta", default: 1)
            let oldBias = producer.inputs.count > 2 ? producer.inputs[2] : ""
            guard var bias = biasValues(oldBias, channels: channels, graph: graph) else { return false }
            bias = bias.map { $0 * betaScale }
            var w = weights.floats()
            let k = weights.count / max(channels, 1)
            for channel in 0..<channels {
                for inner in 0..<k {
                    let position = transposed ? channel * k + inner : inner * channels + channel
                    w[position] *= scale[channel] * alpha
                }
            }
            let b = (0..<channels).map { scale[$0] * (bias[$0] - mean[$0]) + beta[$0] }
            rewritten.attributes["alpha"] = nil
            rewritten.attributes["beta"] = nil
            rewritten.inputs = [producer.inputs[0],
                                add(try Tensor(shape: weights.shape, scalars: w), "\(producer.name)_bn_weights", &graph),
                                add(try Tensor(shape: [channels], scalars: b), "\(producer.name)_bn_bias", &graph)]
        default:
            return false
        }
        rewritten.outputs[0] = norm.outputs[0]
        graph.nodes[producerIndex] = rewritten
        graph.nodes.remove(at: index)
        return true
    }

    /// The producer's bias per channel (zeros when absent); nil when it is not a usable constant.
    private func biasValues(_ name: String, channels: Int, graph: Graph) -> [Float]? {
        if name.isEmpty { return [Float](repeating: 0, count: channels) }
        guard let tensor = graph.constant(name), tensor.dtype == .float32 else { return nil }
        if tensor.count == channels && tensor.shape.last == channels { return tensor.floats() }
        if tensor.count == 1 { return [Float](repeating: tensor.floats()[0], count: channels) }
        return nil
    }

    private func add(_ tensor: Tensor, _ base: String, _ graph: inout Graph) -> String {
        let name = graph.unusedName(base)
        graph.initializers[name] = tensor
        return name
    }
}
