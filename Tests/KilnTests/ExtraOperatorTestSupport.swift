import Kiln
import KilnTestSupport
import Testing

/// A tensor written by a fixture generator: dtype, shape and values (as doubles, exact for every
/// 8-bit, 32-bit and float value the generators write).
struct ExtraFixtureTensor: Sendable {
    var dtype: DType
    var shape: [Int]
    var values: [Double]

    init(_ dtype: DType, _ shape: [Int], _ values: [Double]) {
        self.dtype = dtype
        self.shape = shape
        self.values = values
    }

    func tensor() throws -> Tensor {
        switch dtype {
        case .float32: return try Tensor(shape: shape, scalars: values.map { Float($0) })
        case .float16: return try Tensor(shape: shape, scalars: values.map { Float16(Float($0)) })
        case .int64: return try Tensor(shape: shape, scalars: values.map { Int64($0) })
        case .int32: return try Tensor(shape: shape, scalars: values.map { Int32($0) })
        case .int8: return try Tensor(shape: shape, scalars: values.map { Int8($0) })
        case .uint8: return try Tensor(shape: shape, scalars: values.map { UInt8($0) })
        case .bool: return try Tensor(shape: shape, scalars: values.map { $0 != 0 })
        }
    }
}

/// One run of one operator with the outputs an independent implementation computed.
struct OperatorFixture: Sendable, CustomStringConvertible {
    var name: String
    var op: String
    var opset: Int
    /// What computed the outputs (e.g. "onnxruntime 1.32.0").
    var source: String
    var attributes: [String: Attribute]
    /// nil for an omitted optional input.
    var inputs: [ExtraFixtureTensor?]
    var outputs: [ExtraFixtureTensor]

    var description: String { "\(name) (\(source))" }

    var node: Node {
        Node(name: "node", opType: op, inputs: inputs.enumerated().map { $1 == nil ? "" : "in\($0)" },
             outputs: outputs.indices.map { "out\($0)" }, attributes: attributes)
    }

    func instantiate() throws -> any Operator {
        try OperatorRegistry.instantiate(node, opset: opset)
    }
}

enum ExtraOperatorTesting {
    /// Sizes around zero, one and SIMD widths.
    static let edgeSizes = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33]

    /// Runs `op` with one thread and with two, checks both agree byte for byte, returns the outputs.
    static func run(_ op: any Operator, _ inputs: [Tensor?]) throws -> [Tensor] {
        let single = try op.run(inputs, context: ExecutionContext(threads: 1))
        let parallel = try op.run(inputs, context: ExecutionContext(threads: 2))
        #expect(single.map { $0.withUnsafeBytes { Array($0) } } == parallel.map { $0.withUnsafeBytes { Array($0) } },
                "results differ between one and two threads")
        return single
    }

    /// Checks `actual` against `expected`: same dtype and shape, floats within tolerance, the
    /// rest exactly.
    static func expectMatches(_ actual: Tensor, _ expected: Tensor, rtol: Float = 1e-5, atol: Float = 1e-5,
                              _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.dtype == expected.dtype, "\(what): dtype \(actual.dtype), expected \(expected.dtype)", sourceLocation: sourceLocation)
        #expect(actual.shape == expected.shape, "\(what): shape \(actual.shape), expected \(expected.shape)", sourceLocation: sourceLocation)
        guard actual.dtype == expected.dtype, actual.shape == expected.shape else { return }
        if actual.dtype.isFloatingPoint {
            let comparison = Comparison.compare(actual, expected, rtol: rtol, atol: atol)
            #expect(comparison.isClose, "\(what): \(comparison)", sourceLocation: sourceLocation)
        } else {
            #expect(actual.int64s() == expected.int64s(), "\(what): \(actual.int64s()) vs \(expected.int64s())", sourceLocation: sourceLocation)
        }
    }

    /// Runs a fixture and checks its outputs, and that type inference (the first input as a
    /// non-constant, the others constant) predicts the output types.
    static func check(_ fixture: OperatorFixture, rtol: Float = 1e-5, atol: Float = 1e-5) throws {
        let op = try fixture.instantiate()
        let inputs = try fixture.inputs.map { try $0?.tensor() }
        let outputs = try run(op, inputs)
        #expect(outputs.count >= fixture.outputs.count)
        for (index, expected) in fixture.outputs.enumerated() where index < outputs.count {
            expectMatches(outputs[index], try expected.tensor(), rtol: rtol, atol: atol, "\(fixture) output \(index)")
        }
        var symbols = SymbolGenerator()
        let inference = inputs.enumerated().map { index, tensor -> InferenceInput in
            guard let tensor else { return .absent }
            let type = TensorType(tensor.dtype, [Dim](tensor.shape))
            return index == 0 && fixture.op != "Einsum" ? InferenceInput(type: type) : InferenceInput(type: type, constant: tensor)
        }
        let types = try op.inferTypes(inference, symbols: &symbols)
        for (index, expected) in fixture.outputs.enumerated() where index < types.count {
            #expect(types[index] == TensorType(expected.dtype, [Dim](expected.shape)), "\(fixture) inferred type of output \(index)")
        }
    }

    /// A deterministic float tensor of multiples of 1/8 in [-8, 8] (exact in float16 too).
    static func floats(_ shape: [Int], seed: UInt64 = 1) throws -> Tensor {
        let count = shape.reduce(1, *)
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x1234_5678
        let values = (0..<count).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(truncatingIfNeeded: state >> 33) % 129 - 64) / 8
        }
        return try Tensor(shape: shape, scalars: values)
    }

    /// A deterministic integer tensor of `dtype` with values in `range`.
    static func integers(_ dtype: DType, _ shape: [Int], in range: ClosedRange<Int>, seed: UInt64 = 1) throws -> Tensor {
        let count = shape.reduce(1, *)
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x8765_4321
        let values = (0..<count).map { _ -> Int in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return range.lowerBound + Int(state >> 33) % (range.upperBound - range.lowerBound + 1)
        }
        switch dtype {
        case .uint8: return try Tensor(shape: shape, scalars: values.map { UInt8($0) })
        case .int8: return try Tensor(shape: shape, scalars: values.map { Int8($0) })
        case .int32: return try Tensor(shape: shape, scalars: values.map { Int32($0) })
        case .int64: return try Tensor(shape: shape, scalars: values.map { Int64($0) })
        default: return try Tensor(shape: shape, scalars: values.map { Float($0) })
        }
    }

    /// An operator of type `Op` for a node with `inputs` input names ("" where `omitted`).
    static func op<Op: Operator>(_ type: Op.Type, inputs: Int, omitted: Set<Int> = [], outputs: Int = 1,
                                 attributes: [String: Attribute] = [:], opset: Int = Graph.defaultOpset) throws -> Op {
        let node = Node(name: "node", opType: Op.opType, inputs: (0..<inputs).map { omitted.contains($0) ? "" : "in\($0)" },
                        outputs: (0..<outputs).map { "out\($0)" }, attributes: attributes)
        return try Op(node: node, opset: opset)
    }

    /// The message of the `OperatorError` that `body` throws, or nil.
    static func operatorError(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as OperatorError {
            return error.message
        } catch {
            return "unexpected error type: \(error)"
        }
    }
}
