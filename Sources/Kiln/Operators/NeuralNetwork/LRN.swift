import Foundation

/// `LRN`: local response normalization across channels of `X [N, C, D1...Dn]`;
/// `y = x / (bias + alpha / size * sum of x^2 over the size channels around c)^beta`, where the
/// window is `[c - floor((size - 1) / 2), c + ceil((size - 1) / 2)]` clipped to the channels; float32.
package struct LRN: Operator {
    package static let opType = "LRN"

    package let alpha: Float
    package let beta: Float
    package let bias: Float
    package let size: Int

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
        alpha = try node.float("alpha", default: 1e-4)
        beta = try node.float("beta", default: 0.75)
        bias = try node.float("bias", default: 1)
        guard let size = try node.int("size") else { throw OperatorError("attribute 'size' is required") }
        guard size >= 1 else { throw OperatorError("size must be at least 1, got \(size)") }
        self.size = size
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        guard input.dtype == .float32 else { throw OperatorError("LRN supports float32, got \(input.dtype)") }
        if let rank = input.rank, rank < 3 {
            throw OperatorError("input X must have rank >= 3 ([N, C, spatial...]), has rank \(rank)")
        }
        return [input]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard let input = inputs[0] else { throw OperatorError("input X is required") }
        guard input.dtype == .float32 else { throw OperatorError("LRN supports float32, got \(input.dtype)") }
        guard input.rank >= 3 else { throw OperatorError("input X must have rank >= 3 ([N, C, spatial...]), has shape \(input.shape)") }
        let channels = input.shape[1], planes = input.shape[0] * channels
        let planeSize = input.shape[2...].reduce(1, *)
        let output = try Tensor.uninitialized(.float32, shape: input.shape)
        guard output.count > 0 else { return [output] }
        let before = (size - 1) / 2, after = size - 1 - before
        let scale = alpha / Float(size), bias = bias, beta = beta
        input.withUnsafePointer(as: Float.self) { x in
            output.withUnsafeMutablePointer(as: Float.self) { y in
                context.parallelFor(planes, minimumChunk: max(1, 4_096 / planeSize)) { range in
                    let squares = UnsafeMutablePointer<Float>.allocate(capacity: planeSize)
                    defer { squares.deallocate() }
                    for plane in range {
                        let channel = plane % channels, imageStart = plane - channel
                        squares.update(repeating: 0, count: planeSize)
                        for neighbour in max(0, channel - before)...min(channels - 1, channel + after) {
                            let source = x + (imageStart + neighbour) * planeSize
                            for index in 0..<planeSize { squares[index] += source[index] * source[index] }
                        }
                        let source = x + plane * planeSize, destination = y + plane * planeSize
                        for index in 0..<planeSize {
                            destination[index] = source[index] / Foundation.pow(bias + scale * squares[index], beta)
                        }
                    }
                }
            }
        }
        return [output]
    }

    /// The scalar reference in `Double`, straight from the formula.
    package static func reference(_ x: [Float], shape: [Int], alpha: Float, beta: Float, bias: Float, size: Int) -> [Float] {
        let channels = shape[1], planeSize = shape[2...].reduce(1, *)
        return x.indices.map { index in
            let channel = (index / planeSize) % channels
            var total = 0.0
            for neighbour in (channel - (size - 1) / 2)...(channel + size / 2) where neighbour >= 0 && neighbour < channels {
                let value = Double(x[index + (neighbour - channel) * planeSize])
                total += value * value
            }
            return Float(Double(x[index]) / Foundation.pow(Double(bias) + Double(alpha) / Double(size) * total, Double(beta)))
        }
    }
}
