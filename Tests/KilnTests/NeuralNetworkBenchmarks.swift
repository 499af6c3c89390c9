import Dispatch
import Foundation
import Kiln
import Testing

/// Timings of the neural-network kernels on model-sized shapes. Off by default; run with
/// `KILN_BENCHMARK=1 swift test -c release --filter NeuralNetworkBenchmarks` (debug timings mean nothing).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["KILN_BENCHMARK"] != nil), .serialized)
struct NeuralNetworkBenchmarks {
    typealias T = NeuralNetworkTesting

    /// Median wall time of `body` in milliseconds over `repetitions` runs after one warm-up.
    static func median(repetitions: Int = 15, _ body: () throws -> Void) rethrows -> Double {
        try body()
        var times: [Double] = []
        for _ in 0..<repetitions {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return times.sorted()[times.count / 2]
    }

    static func measure<Op: Operator>(_ name: String, _ type: Op.Type, _ inputs: [Tensor?], attributes: [String: Attribute] = [:],
                                      flops: Double? = nil, threads: Int) throws {
        let node = Node(name: "bench", opType: Op.opType, inputs: inputs.indices.map { "input\($0)" }, outputs: ["output"],
                        attributes: attributes)
        let op = try Op(node: node, opset: Graph.defaultOpset)
        let context = ExecutionContext(threads: threads)
        let milliseconds = try median { _ = try op.run(inputs, context: context) }
        var line = "\(name) [\(threads) thread\(threads == 1 ? "" : "s")]: \(String(format: "%.3f", milliseconds)) ms"
        if let flops { line += String(format: ", %.1f GFLOP/s", flops / milliseconds / 1e6) }
        print(line)
    }

    @Test(arguments: [1, 2])
    func kernelTimings(threads: Int) throws {
        // The session sets OpenBLAS's thread count; do the same here.
        _ = try InferenceSession(model: Model(graph: GraphBuilder().build()), options: .init(threads: threads))
        try Self.measure("MatMul 512x512x512", MatMul.self, [T.random([512, 512], seed: 1), T.random([512, 512], seed: 2)],
                         flops: 2 * 512 * 512 * 512, threads: threads)
        try Self.measure("MatMul [1,128,384]x[384,1536]", MatMul.self, [T.random([1, 128, 384], seed: 1), T.random([384, 1536], seed: 2)],
                         flops: 2 * 128 * 384 * 1536, threads: threads)
        try Self.measure("MatMul attention [12,128,64]x[12,64,128]", MatMul.self,
                         [T.random([12, 128, 64], seed: 1), T.random([12, 64, 128], seed: 2)], flops: 2 * 12 * 128 * 64 * 128, threads: threads)
        try Self.measure("Conv 3x3 64->64 on 56x56", Conv.self, [T.random([1, 64, 56, 56], seed: 1), T.random([64, 64, 3, 3], seed: 2),
                                                                 T.random([64], seed: 3)],
                         attributes: ["pads": .ints([1, 1, 1, 1])], flops: 2 * 64 * 56 * 56 * 64 * 9, threads: threads)
        try Self.measure("Conv 7x7/2 3->64 on 224x224", Conv.self, [T.random([1, 3, 224, 224], seed: 1), T.random([64, 3, 7, 7], seed: 2)],
                         attributes: ["pads": .ints([3, 3, 3, 3]), "strides": .ints([2, 2])], flops: 2 * 64 * 112 * 112 * 3 * 49, threads: threads)
        try Self.measure("Conv 1x1 256->64 on 56x56", Conv.self, [T.random([1, 256, 56, 56], seed: 1), T.random([64, 256, 1, 1], seed: 2)],
                         flops: 2 * 64 * 56 * 56 * 256, threads: threads)
        try Self.measure("Conv depthwise 3x3 32ch on 112x112", Conv.self,
                         [T.random([1, 32, 112, 112], seed: 1), T.random([32, 1, 3, 3], seed: 2), T.random([32], seed: 3)],
                         attributes: ["group": .int(32), "pads": .ints([1, 1, 1, 1])], flops: 2 * 32 * 112 * 112 * 9, threads: threads)
        try Self.measure("MaxPool 3x3/2 on [1,64,112,112]", MaxPool.self, [T.random([1, 64, 112, 112], seed: 1)],
                         attributes: ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])], threads: threads)
        try Self.measure("Softmax [12,128,128] axis -1", Softmax.self, [T.random([12, 128, 128], seed: 1, in: -5...5)], threads: threads)
        try Self.measure("LayerNormalization [128,384]", LayerNormalization.self,
                         [T.random([128, 384], seed: 1), T.random([384], seed: 2), T.random([384], seed: 3)], threads: threads)
        try Self.measure("ReduceMean [8,128,384] axis 1", ReduceMean.self,
                         [T.random([8, 128, 384], seed: 1), try Tensor(shape: [1], scalars: [1] as [Int64])], threads: threads)
        try Self.measure("GlobalAveragePool [1,2048,7,7]", GlobalAveragePool.self, [T.random([1, 2048, 7, 7], seed: 1)], threads: threads)
    }
}
