import Kiln
import KilnTestSupport
import Testing

@Suite struct ElementwiseUnaryTests {
    /// Every Float operator, with attributes that differ from the defaults where it has some, and an
    /// input range that exercises its interesting region.
    static let floatOperators: [(opType: String, attributes: [String: Attribute], range: ClosedRange<Float>)] = [
        ("Exp", [:], -90...90), ("Log", [:], 1e-6...1e6), ("Sqrt", [:], 0...1e4), ("Reciprocal", [:], -8...8),
        ("Sigmoid", [:], -40...40), ("Tanh", [:], -12...12), ("Erf", [:], -5...5), ("Gelu", [:], -12...12),
        ("Gelu", ["approximate": .string("tanh")], -12...12), ("Sin", [:], -10...10), ("Cos", [:], -10...10),
        ("Floor", [:], -50...50), ("Ceil", [:], -50...50), ("Round", [:], -50...50),
        ("Relu", [:], -4...4), ("LeakyRelu", ["alpha": .float(0.2)], -4...4), ("Elu", ["alpha": .float(1.5)], -6...3),
        ("Selu", [:], -6...3), ("HardSigmoid", ["alpha": .float(0.3), "beta": .float(0.4)], -5...5),
        ("HardSwish", [:], -5...5), ("Softplus", [:], -30...30), ("Softsign", [:], -10...10),
        ("Mish", [:], -30...30),
    ]

    static func reference(of op: any Operator) -> (Float) -> Float {
        if let floatOp = op as? any FloatUnaryOperator { return { floatOp.reference($0) } }
        return { max($0, 0) }  // Relu predates the FloatUnaryOperator protocol
    }

    @Test(arguments: ElementwiseTesting.sizes)
    func floatOperatorsMatchTheirReferences(n: Int) throws {
        for (index, entry) in Self.floatOperators.enumerated() {
            let op = try ElementwiseTesting.makeOperator(entry.opType, inputs: 1, attributes: entry.attributes)
            let reference = Self.reference(of: op)
            for shape in [[n], [3, n]] {
                let input = try ElementwiseTesting.tensor(shape, seed: UInt64(index * 100 + n), in: entry.range)
                let expected = try Tensor(shape: shape, scalars: input.scalars(as: Float.self).map(reference))
                for threads in [1, 2] {
                    let output = try op.run([input], context: ExecutionContext(threads: threads))[0]
                    let comparison = Comparison.compare(output, expected, rtol: 2e-6, atol: 1e-30)
                    #expect(comparison.isClose, "\(entry.opType) \(entry.attributes) \(shape): \(comparison)")
                }
            }
        }
    }

    @Test func largeInputsSplitAcrossThreadsMatchTheReference() throws {
        let input = try ElementwiseTesting.tensor([100_003], seed: 5, in: -10...10)
        for opType in ["Exp", "Tanh", "Gelu", "Sigmoid"] {
            let op = try ElementwiseTesting.makeOperator(opType, inputs: 1)
            let output = try op.run([input], context: ExecutionContext(threads: 2))[0]
            let expected = try Tensor(shape: input.shape, scalars: input.scalars(as: Float.self).map(Self.reference(of: op)))
            let comparison = Comparison.compare(output, expected, rtol: 2e-6, atol: 1e-30)
            #expect(comparison.isClose, "\(opType): \(comparison)")
        }
    }

    @Test func specialValuesPropagate() throws {
        let input = try Tensor(shape: [5], scalars: [.nan, .infinity, -.infinity, 0, -0.0] as [Float])
        let expectations: [(String, [Float])] = [
            ("Exp", [.nan, .infinity, 0, 1, 1]), ("Tanh", [.nan, 1, -1, 0, -0.0]),
            ("Sigmoid", [.nan, 1, 0, 0.5, 0.5]), ("Erf", [.nan, 1, -1, 0, -0.0]),
            ("Log", [.nan, .infinity, .nan, -.infinity, -.infinity]), ("Sqrt", [.nan, .infinity, .nan, 0, -0.0]),
            ("Softplus", [.nan, .infinity, 0, 0.6931472, 0.6931472]), ("Mish", [.nan, .infinity, .nan, 0, -0.0]),
            ("HardSigmoid", [.nan, 1, 0, 0.5, 0.5]), ("Relu", [.nan, .infinity, 0, 0, 0]),
        ]
        for (opType, expected) in expectations {
            let output = try ElementwiseTesting.run(opType, [input]).scalars(as: Float.self)
            for (actual, wanted) in zip(output, expected) {
                if wanted.isNaN {
                    #expect(actual.isNaN, "\(opType): \(output) vs \(expected)")
                } else {
                    #expect(actual == wanted || abs(actual - wanted) <= 1e-6, "\(opType): \(output) vs \(expected)")
                }
            }
        }
    }

    // MARK: ONNX specification examples

    static func check(_ opType: String, _ input: [Float], _ expected: [Float],
                      attributes: [String: Attribute] = [:], tolerance: Float = 1e-6) throws {
        let output = try ElementwiseTesting.run(opType, [Tensor(shape: [input.count], scalars: input)],
                                                attributes: attributes)
        let comparison = Comparison.compare(output, try Tensor(shape: [expected.count], scalars: expected),
                                            rtol: tolerance, atol: tolerance)
        #expect(comparison.isClose, "\(opType) \(attributes): \(comparison)")
    }

    @Test func activationsMatchSpecificationExamples() throws {
        try Self.check("Elu", [-1, 0, 1], [-1.2642411, 0, 1], attributes: ["alpha": .float(2)])
        try Self.check("Selu", [-1, 0, 1], [-3.79272318, 0, 3], attributes: ["alpha": .float(2), "gamma": .float(3)])
        try Self.check("LeakyRelu", [-1, 0, 1], [-0.1, 0, 1], attributes: ["alpha": .float(0.1)])
        try Self.check("HardSigmoid", [-1, 0, 1], [0.1, 0.6, 1], attributes: ["alpha": .float(0.5), "beta": .float(0.6)])
        try Self.check("Softsign", [-1, 0, 1], [-0.5, 0, 0.5])
        try Self.check("Softplus", [-1, 0, 1], [0.31326166, 0.69314718, 1.31326163])
        try Self.check("Sigmoid", [-1, 0, 1], [0.26894143, 0.5, 0.7310586])
        try Self.check("Tanh", [-1, 0, 1], [-0.76159418, 0, 0.76159418])
        try Self.check("Exp", [-1, 0, 1], [0.36787945, 1, 2.71828175])
        try Self.check("Gelu", [-1, 0, 1], [-0.15865526, 0, 0.8413447])
        try Self.check("Gelu", [-1, 0, 1], [-0.158808, 0, 0.841192], attributes: ["approximate": .string("tanh")])
        // HardSwish has no worked example in the spec: x * clamp(x/6 + 1/2, 0, 1) by hand.
        try Self.check("HardSwish", [-4, -3, -1.5, 0, 1.5, 3, 4], [0, 0, -0.375, 0, 1.125, 3, 4])
        // Mish(x) = x tanh(ln(1 + e^x)): 1 * tanh(ln(1 + e)) = 0.8650984, -1 * tanh(ln(1 + 1/e)) = -0.3034014.
        try Self.check("Mish", [-1, 0, 1], [-0.3034014, 0, 0.8650984])
    }

    @Test func roundingMatchesSpecificationExamples() throws {
        try Self.check("Round", [0.1, 0.5, 0.9, 1.2, 1.5, 1.8, 2.3, 2.5, 2.7, -1.1, -1.5, -1.9, -2.2, -2.5, -2.8],
                       [0, 0, 1, 1, 2, 2, 2, 2, 3, -1, -2, -2, -2, -2, -3], tolerance: 0)
        try Self.check("Floor", [-1.5, 1.2, 2], [-2, 1, 2], tolerance: 0)
        try Self.check("Ceil", [-1.5, 1.2, 2], [-1, 2, 2], tolerance: 0)
        try Self.check("Reciprocal", [-4, 2], [-0.25, 0.5], tolerance: 0)
        try Self.check("Sqrt", [1, 4, 9], [1, 2, 3], tolerance: 0)
    }

    // MARK: Numeric unary operators

    @Test func numericUnaryOperatorsCoverIntegers() throws {
        let ints = try Tensor(shape: [5], scalars: [-3, -1, 0, 2, Int64.min] as [Int64])
        #expect(try ElementwiseTesting.run("Neg", [ints]).scalars(as: Int64.self) == [3, 1, 0, -2, Int64.min])
        #expect(try ElementwiseTesting.run("Abs", [ints]).scalars(as: Int64.self) == [3, 1, 0, 2, Int64.min])
        #expect(try ElementwiseTesting.run("Sign", [ints]).scalars(as: Int64.self) == [-1, -1, 0, 1, -1])
        let int32s = try Tensor(shape: [3], scalars: [-7, 0, 9] as [Int32])
        #expect(try ElementwiseTesting.run("Abs", [int32s]).scalars(as: Int32.self) == [7, 0, 9])
        let bytes = try Tensor(shape: [2], scalars: [3, 0] as [UInt8])
        #expect(try ElementwiseTesting.run("Neg", [bytes]).scalars(as: UInt8.self) == [253, 0])
        let floats = try Tensor(shape: [5], scalars: [-2.5, 0, 3, .nan, -0.0] as [Float])
        let signs = try ElementwiseTesting.run("Sign", [floats]).scalars(as: Float.self)
        #expect(Array(signs.prefix(3)) == [-1, 0, 1] && signs[3].isNaN)
        #expect(signs[4].sign == .plus)  // ONNX Runtime: Sign(-0) = +0
        #expect(try ElementwiseTesting.run("Abs", [floats]).scalars(as: Float.self).prefix(3) == [2.5, 0, 3])
    }

    @Test(arguments: ElementwiseTesting.sizes)
    func numericUnaryOperatorsMatchReferenceAtEverySize(n: Int) throws {
        let values = ElementwiseTesting.ints(n, seed: UInt64(n), in: -1000...1000)
        let int64s = try Tensor(shape: [n], scalars: values)
        let int32s = try Tensor(shape: [n], scalars: values.map { Int32($0) })
        let floats = try Tensor(shape: [n], scalars: values.map { Float($0) / 8 })
        #expect(try ElementwiseTesting.run("Neg", [int64s]).scalars(as: Int64.self) == values.map { -$0 })
        #expect(try ElementwiseTesting.run("Abs", [int32s]).scalars(as: Int32.self) == values.map { Int32(abs($0)) })
        #expect(try ElementwiseTesting.run("Sign", [floats]).scalars(as: Float.self) == values.map { Float($0.signum()) })
    }

    @Test(arguments: ElementwiseTesting.sizes)
    func reluFastKernelMatchesReference(n: Int) throws {
        var values = ElementwiseTesting.floats(n, seed: UInt64(n))
        if n > 2 { values[1] = .nan; values[2] = -0.0 }
        let fast = [Float](unsafeUninitializedCapacity: n) { buffer, count in
            values.withUnsafeBufferPointer { ReluKernel.fast($0.baseAddress!, buffer.baseAddress!, count: n) }
            count = n
        }
        let reference = [Float](unsafeUninitializedCapacity: n) { buffer, count in
            values.withUnsafeBufferPointer { ReluKernel.reference($0.baseAddress!, buffer.baseAddress!, count: n) }
            count = n
        }
        #expect(zip(fast, reference).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) })
        if n > 2 { #expect(fast[1].isNaN && fast[2].sign == .minus) }  // as ONNX Runtime: NaN and -0 pass
        let ints = ElementwiseTesting.ints(n, seed: UInt64(n))
        #expect(try ElementwiseTesting.run("Relu", [Tensor(shape: [n], scalars: ints)]).scalars(as: Int64.self) == ints.map { max($0, 0) })
    }

    // MARK: Float16

    @Test func float16InputsComputeThroughFloat32() throws {
        let values = ElementwiseTesting.floats(33, seed: 9, in: -6...6)
        let input = try Tensor(shape: [33], scalars: values.map { Float16($0) })
        for opType in ["Exp", "Tanh", "Sigmoid", "Gelu", "Erf", "Softplus", "Neg", "Abs"] {
            let op = try ElementwiseTesting.makeOperator(opType, inputs: 1)
            let output = try op.run([input], context: ExecutionContext(threads: 1))[0]
            #expect(output.dtype == .float16)
            let reference: (Float) -> Float = opType == "Neg" ? { -$0 } : opType == "Abs" ? { abs($0) } : Self.reference(of: op)
            let expected = try Tensor(shape: [33], scalars: input.scalars(as: Float16.self).map { Float16(reference(Float($0))) })
            let comparison = Comparison.compare(output, expected, rtol: 1e-3, atol: 1e-6)
            #expect(comparison.isClose, "\(opType): \(comparison)")
        }
    }

    // MARK: Types and errors

    @Test func inferenceKeepsSymbolicShapes() throws {
        let type = try ElementwiseTesting.infer("Gelu", [TensorType(.float32, ["batch", "seq", 768])])
        #expect(type == TensorType(.float32, ["batch", "seq", 768]))
        #expect(try ElementwiseTesting.infer("Neg", [TensorType(.int64, ["n"])]) == TensorType(.int64, ["n"]))
        #expect(try ElementwiseTesting.infer("Exp", [TensorType(.float16, nil)]) == TensorType(.float16, nil))
    }

    @Test func rejectsNonFloatInputsToFloatOperators() throws {
        let error = #expect(throws: OperatorError.self) {
            try ElementwiseTesting.infer("Exp", [TensorType(.int64, [3])])
        }
        #expect(error?.message.contains("int64") == true)
        #expect(throws: OperatorError.self) {
            try ElementwiseTesting.run("Tanh", [Tensor(shape: [2], scalars: [1, 2] as [Int32])])
        }
        #expect(throws: OperatorError.self) { try ElementwiseTesting.infer("Abs", [TensorType(.bool, [3])]) }
    }

    @Test func rejectsUnknownGeluApproximation() throws {
        let error = #expect(throws: GraphError.self) {
            try ElementwiseTesting.makeOperator("Gelu", inputs: 1, attributes: ["approximate": .string("fast")])
        }
        #expect(error.map { "\($0)" }?.contains("approximate") == true)
    }

    @Test func rejectsWrongInputCounts() throws {
        #expect(throws: GraphError.self) { try ElementwiseTesting.makeOperator("Exp", inputs: 2) }
        #expect(throws: GraphError.self) { try ElementwiseTesting.makeOperator("Add", inputs: 1) }
        #expect(throws: GraphError.self) { try ElementwiseTesting.makeOperator("Where", inputs: 2) }
        #expect(throws: GraphError.self) { try ElementwiseTesting.makeOperator("Max", inputs: 0) }
    }
}
