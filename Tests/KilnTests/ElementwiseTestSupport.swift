import Kiln
import Testing

/// Helpers shared by the elementwise operator tests.
enum ElementwiseTesting {
    /// Lengths around the vector widths (4, 8, 16 floats) and the degenerate 0 and 1.
    static let sizes = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33]

    /// Deterministic pseudo-random floats in `range` (a 64-bit LCG, so runs are reproducible).
    static func floats(_ count: Int, seed: UInt64, in range: ClosedRange<Float> = -4...4) -> [Float] {
        var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let unit = Float(state >> 40) / Float(1 << 24)
            return range.lowerBound + (range.upperBound - range.lowerBound) * unit
        }
    }

    static func ints(_ count: Int, seed: UInt64, in range: ClosedRange<Int64> = -50...50) -> [Int64] {
        var state = seed &* 6_364_136_223_846_793_005 &+ 1
        let span = UInt64(range.upperBound - range.lowerBound + 1)
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return range.lowerBound + Int64((state >> 33) % span)
        }
    }

    static func bools(_ count: Int, seed: UInt64) -> [Bool] {
        ints(count, seed: seed, in: 0...1).map { $0 == 1 }
    }

    static func tensor(_ shape: [Int], seed: UInt64, in range: ClosedRange<Float> = -4...4) throws -> Tensor {
        try Tensor(shape: shape, scalars: floats(shape.reduce(1, *), seed: seed, in: range))
    }

    /// Instantiates `opType` through the registry, as a session does.
    static func makeOperator(_ opType: String, inputs: Int, attributes: [String: Attribute] = [:],
                             opset: Int = Graph.defaultOpset) throws -> any Operator {
        let node = Node(name: "test_\(opType)", opType: opType, inputs: (0..<inputs).map { "in\($0)" },
                        outputs: ["out"], attributes: attributes)
        return try OperatorRegistry.instantiate(node, opset: opset)
    }

    /// Runs `opType` on `inputs` and returns its single output.
    static func run(_ opType: String, _ inputs: [Tensor?], attributes: [String: Attribute] = [:],
                    opset: Int = Graph.defaultOpset, threads: Int = 1) throws -> Tensor {
        let op = try makeOperator(opType, inputs: inputs.count, attributes: attributes, opset: opset)
        let outputs = try op.run(inputs, context: ExecutionContext(threads: threads))
        return outputs[0]
    }

    /// Infers the output type of `opType` from input types.
    static func infer(_ opType: String, _ types: [TensorType?], attributes: [String: Attribute] = [:],
                      opset: Int = Graph.defaultOpset) throws -> TensorType {
        let op = try makeOperator(opType, inputs: types.count, attributes: attributes, opset: opset)
        var symbols = SymbolGenerator()
        let inputs = types.map { type in type.map { InferenceInput(type: $0) } ?? .absent }
        return try op.inferTypes(inputs, symbols: &symbols)[0]
    }

    /// The expected result of a two-operand function under numpy broadcasting, from the scalar
    /// reference kernel.
    static func referenceBinary<Left: TensorScalar, Right: TensorScalar, Output: TensorScalar>(
        _ left: Tensor, _ right: Tensor, as output: Output.Type,
        _ body: @escaping @Sendable (Left, Right) -> Output
    ) throws -> Tensor {
        let shape = try ShapeInference.broadcast([left.shape, right.shape])
        let result = try Tensor(zeros: Output.dtype, shape: shape)
        left.withUnsafePointer(as: Left.self) { leftBase in
            right.withUnsafePointer(as: Right.self) { rightBase in
                result.withUnsafeMutablePointer(as: Output.self) { outputBase in
                    BroadcastKernel.referenceBinary(ClosureBinary(body: body), leftBase, leftShape: left.shape,
                                                    rightBase, rightShape: right.shape, outputBase, outputShape: shape)
                }
            }
        }
        return result
    }
}

struct ClosureBinary<Left, Right, Output>: BinaryElementwiseFunction {
    let body: @Sendable (Left, Right) -> Output
    func apply(_ left: Left, _ right: Right) -> Output { body(left, right) }
}

struct ClosureTernary<First, Second, Third, Output>: TernaryElementwiseFunction {
    let body: @Sendable (First, Second, Third) -> Output
    func apply(_ first: First, _ second: Second, _ third: Third) -> Output { body(first, second, third) }
}

extension Tensor {
    /// Bitwise equality of dtype, shape and bytes (NaNs with equal payloads compare equal).
    func isIdentical(to other: Tensor) -> Bool {
        guard dtype == other.dtype, shape == other.shape else { return false }
        return withUnsafeBytes { mine in other.withUnsafeBytes { theirs in mine.elementsEqual(theirs) } }
    }
}
