import Benchmark
import Foundation
import Kiln
import KilnTestSupport

// Whole-model and kernel benchmarks (ordo-one/package-benchmark). Built only when KILN_BENCHMARKS is
// set, so consumers of the library never build the benchmark package:
//
//     KILN_BENCHMARKS=1 swift package --allow-writing-to-package-directory benchmark
//
// Besides time, every benchmark reports mallocCountTotal per iteration (the MallocInterposer trait),
// which is how the allocation target of steady-state runs is checked.

/// A session on a fixture with its committed inputs, or nil (with a message) when it cannot load.
private func fixtureSession(_ name: String, inputs folder: String = "inputs", threads: Int)
    -> (InferenceSession, [String: Tensor])?
{
    do {
        let fixture = Fixture(name)
        let session = try InferenceSession(model: fixture.model(), options: .init(threads: threads))
        return (session, try fixture.tensors(in: folder))
    } catch {
        print("skipping \(name): \(error)")
        return nil
    }
}

/// Deterministic pseudo-random floats in [-1, 1).
private func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor? {
    var state = seed
    let count = shape.reduce(1, *)
    let scalars = (0..<count).map { _ -> Float in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 23) - 1
    }
    return try? Tensor(shape: shape, scalars: scalars)
}

/// A one-node graph session over float32 inputs of the given shapes.
private func singleOperatorSession(_ opType: String, inputs shapes: [[Int]], attributes: [String: Attribute] = [:],
                                   threads: Int) -> (InferenceSession, [String: Tensor])?
{
    var builder = GraphBuilder(name: opType)
    var feeds: [String: Tensor] = [:]
    var names: [String] = []
    for (index, shape) in shapes.enumerated() {
        let name = "input\(index)"
        builder.input(name, .float32, [Dim](shape))
        names.append(name)
        feeds[name] = randomTensor(shape, seed: UInt64(index + 1))
    }
    builder.output(builder.node(opType, names, attributes: attributes), as: "output")
    guard let graph = try? builder.build(), let model = try? Model(graph: graph),
          let session = try? InferenceSession(model: model, options: .init(threads: threads)) else { return nil }
    return (session, feeds)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .mallocCountLarge, .mallocCountSmall, .peakMemoryResident],
        warmupIterations: 5,
        scalingFactor: .one,
        maxDuration: .seconds(2),
        maxIterations: 1000
    )

    for threads in [1, 2] {
        for (fixture, folder) in [("mlp", "inputs_b1"), ("mlp", "inputs"), ("cnn", "inputs_b1"), ("encoder", "inputs"),
                                  ("zoo-resnet-mini", "inputs"), ("zoo-mobilenet-mini", "inputs")] {
            guard let (session, feeds) = fixtureSession(fixture, inputs: folder, threads: threads) else { continue }
            Benchmark("model \(fixture) \(folder) threads \(threads)") { benchmark in
                for _ in benchmark.scaledIterations { blackHole(try session.run(feeds)) }
            }
        }

        let kernels: [(String, String, [[Int]], [String: Attribute])] = [
            ("MatMul 128x384x1536", "MatMul", [[128, 384], [384, 1536]], [:]),
            ("MatMul 512^3", "MatMul", [[512, 512], [512, 512]], [:]),
            ("Conv 3x3 64->64 56x56", "Conv", [[1, 64, 56, 56], [64, 64, 3, 3]], ["pads": .ints([1, 1, 1, 1])]),
            ("Conv 1x1 256->64 56x56", "Conv", [[1, 256, 56, 56], [64, 256, 1, 1]], [:]),
            ("Conv depthwise 3x3 32ch 112x112", "Conv", [[1, 32, 112, 112], [32, 1, 3, 3]],
             ["group": .int(32), "pads": .ints([1, 1, 1, 1])]),
            ("Add 1M", "Add", [[1 << 20], [1 << 20]], [:]),
            ("Add channel bias [1,64,56,56]+[64,1,1]", "Add", [[1, 64, 56, 56], [64, 1, 1]], [:]),
            ("Softmax [12,128,128]", "Softmax", [[12, 128, 128]], [:]),
            ("Erf 1M", "Erf", [[1 << 20]], [:]),
            ("Transpose [64,112,112] NCHW->NHWC", "Transpose", [[1, 64, 112, 112]], ["perm": .ints([0, 2, 3, 1])]),
        ]
        for (label, opType, shapes, attributes) in kernels {
            guard let (session, feeds) = singleOperatorSession(opType, inputs: shapes, attributes: attributes,
                                                               threads: threads) else {
                print("skipping \(label): could not build")
                continue
            }
            Benchmark("kernel \(label) threads \(threads)") { benchmark in
                for _ in benchmark.scaledIterations { blackHole(try session.run(feeds)) }
            }
        }
    }
}
