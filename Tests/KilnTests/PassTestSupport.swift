import Kiln
import KilnTestSupport
import Testing

/// Runs a pass over a graph and checks that it changed the structure as expected without changing
/// what the graph computes (random inputs through ``InferenceSession`` before and after).
enum PassTesting {
    static func tensor(_ shape: [Int], _ values: [Float]) -> Tensor { try! Tensor(shape: shape, scalars: values) }

    static func random(_ shape: [Int], seed: UInt64, in range: ClosedRange<Float> = -1...1) -> Tensor {
        NeuralNetworkTesting.random(shape, seed: seed, in: range)
    }

    /// Random values for every float32 graph input (symbolic dims get `symbolSize`).
    static func randomInputs(for graph: Graph, seed: UInt64 = 7, symbolSize: Int = 3) -> [String: Tensor] {
        var inputs: [String: Tensor] = [:]
        for (position, input) in graph.inputs.enumerated() {
            let shape = (input.type.shape ?? []).map { $0.value ?? symbolSize }
            inputs[input.name] = random(shape, seed: seed &+ UInt64(position) &* 101, in: -3...3)
        }
        return inputs
    }

    static func outputs(of graph: Graph, _ inputs: [String: Tensor]) throws -> [String: Tensor] {
        try InferenceSession(model: Model(graph: graph), options: .init(threads: 2)).run(inputs)
    }

    /// Applies `pass`, checks the rewritten graph still gives the original outputs (same names) at
    /// `tolerance`, and returns the graph with how often the pass fired.
    @discardableResult
    static func apply(_ pass: any GraphPass, to original: Graph, tolerance: Float = 1e-5,
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> (graph: Graph, fired: Int) {
        var graph = original
        let fired = try pass.run(&graph)
        try graph.validate()
        #expect(graph.outputs.map(\.name) == original.outputs.map(\.name), sourceLocation: sourceLocation)
        let inputs = randomInputs(for: original)
        let before = try outputs(of: original, inputs)
        let after = try outputs(of: graph, inputs)
        for (name, expected) in before {
            let actual = try #require(after[name], "output \(name) missing after \(pass.name)", sourceLocation: sourceLocation)
            let comparison = Comparison.compare(actual, expected, rtol: tolerance, atol: tolerance)
            #expect(comparison.isClose, "\(pass.name): \(name): \(comparison)", sourceLocation: sourceLocation)
        }
        return (graph, fired)
    }

    static func count(_ opType: String, in graph: Graph) -> Int { graph.operatorCounts[opType] ?? 0 }
}
