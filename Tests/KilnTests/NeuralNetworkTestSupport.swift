import Kiln
import KilnTestSupport
import Testing

/// Helpers for the neural-network operator tests: seeded data, running one operator directly
/// (checking its inferred types against what it produces), and comparisons.
enum NeuralNetworkTesting {
    /// SplitMix64: a small deterministic generator so failures reproduce.
    struct Generator: RandomNumberGenerator {
        private var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// A float32 tensor of uniform values in `range`.
    static func random(_ shape: [Int], seed: UInt64, in range: ClosedRange<Float> = -1...1) -> Tensor {
        var generator = Generator(seed: seed &+ UInt64(shape.reduce(17) { $0 &* 31 &+ $1 }))
        let count = shape.reduce(1, *)
        let values = (0..<count).map { _ in Float.random(in: range, using: &generator) }
        return try! Tensor(shape: shape, scalars: values)
    }

    /// Runs operator `type` on `inputs` (nil = omitted optional input) and checks that the types
    /// it infers from the inputs' concrete shapes match the outputs it produces.
    /// - Parameter constantInputs: Inputs whose values inference may see (e.g. an `axes` input).
    static func run<Op: Operator>(
        _ type: Op.Type, _ inputs: [Tensor?], attributes: [String: Attribute] = [:], opset: Int = Graph.defaultOpset,
        outputCount: Int = 1, threads: Int = 2, constantInputs: Set<Int> = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [Tensor] {
        let node = Node(name: "node", opType: Op.opType,
                        inputs: inputs.indices.map { inputs[$0] == nil ? "" : "input\($0)" },
                        outputs: (0..<outputCount).map { "output\($0)" }, attributes: attributes)
        let op = try Op(node: node, opset: opset)
        let inferenceInputs = inputs.enumerated().map { index, tensor -> InferenceInput in
            guard let tensor else { return .absent }
            return InferenceInput(type: TensorType(tensor.dtype, [Dim](tensor.shape)),
                                  constant: constantInputs.contains(index) ? tensor : nil)
        }
        var symbols = SymbolGenerator()
        let types = try op.inferTypes(inferenceInputs, symbols: &symbols)
        let outputs = try op.run(inputs, context: ExecutionContext(threads: threads))
        #expect(outputs.count >= outputCount, sourceLocation: sourceLocation)
        for (inferred, output) in zip(types, outputs.prefix(outputCount)) {
            #expect(inferred.dtype == output.dtype, sourceLocation: sourceLocation)
            #expect(inferred.concreteShape == output.shape,
                    "inferred \(inferred), produced \(output.shape)", sourceLocation: sourceLocation)
        }
        return outputs
    }

    /// Infers output types from declared input types (symbolic dims allowed).
    static func infer<Op: Operator>(_ type: Op.Type, _ inputs: [TensorType?], attributes: [String: Attribute] = [:],
                                    opset: Int = Graph.defaultOpset, outputCount: Int = 1,
                                    constants: [Int: Tensor] = [:]) throws -> [TensorType] {
        let node = Node(name: "node", opType: Op.opType,
                        inputs: inputs.indices.map { inputs[$0] == nil ? "" : "input\($0)" },
                        outputs: (0..<outputCount).map { "output\($0)" }, attributes: attributes)
        let op = try Op(node: node, opset: opset)
        var symbols = SymbolGenerator()
        return try op.inferTypes(inputs.enumerated().map { index, type in
            type.map { InferenceInput(type: $0, constant: constants[index]) } ?? .absent
        }, symbols: &symbols)
    }

    /// Expects `actual` to match `expected` within tolerances, printing the worst error.
    static func expectClose(_ actual: Tensor, _ expected: Tensor, rtol: Float = 1e-4, atol: Float = 1e-5,
                            _ context: @autoclosure () -> String = "",
                            sourceLocation: SourceLocation = #_sourceLocation) {
        let comparison = Comparison.compare(actual, expected, rtol: rtol, atol: atol)
        #expect(comparison.isClose, "\(context()): \(comparison) actual shape \(actual.shape) expected \(expected.shape)",
                sourceLocation: sourceLocation)
    }

    static func tensor(_ shape: [Int], _ values: [Float]) -> Tensor { try! Tensor(shape: shape, scalars: values) }

    /// Applies a reference kernel written over pointers to produce a tensor of `shape`.
    static func reference(_ shape: [Int], _ inputs: [Tensor], _ body: ([UnsafePointer<Float>], UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        let count = shape.reduce(1, *)
        var output = [Float](repeating: .nan, count: count)
        let arrays = inputs.map { try! $0.scalars(as: Float.self) }
        func withPointers(_ index: Int, _ collected: [UnsafePointer<Float>]) {
            if index == arrays.count {
                output.withUnsafeMutableBufferPointer { body(collected, $0.baseAddress!) }
                return
            }
            // A stable, non-nil pointer even for empty arrays.
            let padded = arrays[index].isEmpty ? [Float(0)] : arrays[index]
            padded.withUnsafeBufferPointer { withPointers(index + 1, collected + [$0.baseAddress!]) }
        }
        if count == 0 {
            // Nothing to compute; a zero-sized result never reaches the body.
            return try! Tensor(shape: shape, scalars: output)
        }
        withPointers(0, [])
        return try! Tensor(shape: shape, scalars: output)
    }
}
