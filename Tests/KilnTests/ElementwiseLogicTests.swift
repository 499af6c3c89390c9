import Kiln
import KilnTestSupport
import Testing

@Suite struct ElementwiseLogicTests {
    // MARK: Comparisons

    @Test(arguments: ElementwiseTesting.sizes)
    func comparisonsMatchReference(n: Int) throws {
        let comparisons: [(String, @Sendable (Float, Float) -> Bool)] = [
            ("Equal", { $0 == $1 }), ("Less", { $0 < $1 }), ("Greater", { $0 > $1 }),
            ("LessOrEqual", { $0 <= $1 }), ("GreaterOrEqual", { $0 >= $1 }),
        ]
        for (opType, body) in comparisons {
            for (leftShape, rightShape) in [([n], [n]), ([2, n], [1]), ([n, 1], [1, 3]), ([3, n], [n])] {
                // Small integers as floats, so equality actually happens.
                let left = try Tensor(shape: leftShape, scalars: ElementwiseTesting.ints(leftShape.reduce(1, *), seed: 1, in: -2...2).map { Float($0) })
                let right = try Tensor(shape: rightShape, scalars: ElementwiseTesting.ints(rightShape.reduce(1, *), seed: 2, in: -2...2).map { Float($0) })
                let expected = try ElementwiseTesting.referenceBinary(left, right, as: Bool.self, body)
                let output = try ElementwiseTesting.run(opType, [left, right])
                #expect(output.isIdentical(to: expected), "\(opType) \(leftShape) with \(rightShape)")
                // The same comparison on int64 gives the same answer.
                let intOutput = try ElementwiseTesting.run(opType, [
                    Tensor(shape: leftShape, scalars: left.int64s()), Tensor(shape: rightShape, scalars: right.int64s()),
                ])
                #expect(intOutput.isIdentical(to: expected), "\(opType) int64 \(leftShape) with \(rightShape)")
            }
        }
    }

    @Test func comparisonsWithNaNAreFalse() throws {
        let a = try Tensor(shape: [2], scalars: [.nan, 1] as [Float])
        let b = try Tensor(shape: [2], scalars: [.nan, .nan] as [Float])
        for opType in ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"] {
            #expect(try ElementwiseTesting.run(opType, [a, b]).scalars(as: Bool.self) == [false, false], "\(opType)")
        }
    }

    @Test func equalSupportsBool() throws {
        let a = try Tensor(shape: [4], scalars: [true, true, false, false])
        let b = try Tensor(shape: [4], scalars: [true, false, true, false])
        #expect(try ElementwiseTesting.run("Equal", [a, b]).scalars(as: Bool.self) == [true, false, false, true])
        #expect(try ElementwiseTesting.infer("Equal", [TensorType(.bool, ["n"]), TensorType(.bool, [])]) == TensorType(.bool, ["n"]))
        #expect(throws: OperatorError.self) {
            try ElementwiseTesting.infer("Less", [TensorType(.bool, [2]), TensorType(.bool, [2])])
        }
    }

    @Test func comparisonsInferBoolOutputs() throws {
        #expect(try ElementwiseTesting.infer("Less", [TensorType(.float32, ["batch", 1]), TensorType(.float32, [4])])
            == TensorType(.bool, ["batch", 4]))
        #expect(throws: OperatorError.self) {
            try ElementwiseTesting.infer("Greater", [TensorType(.float32, [2]), TensorType(.int64, [2])])
        }
    }

    // MARK: Logic

    @Test func logicalOperatorsFollowTruthTables() throws {
        let a = try Tensor(shape: [4], scalars: [false, false, true, true])
        let b = try Tensor(shape: [4], scalars: [false, true, false, true])
        #expect(try ElementwiseTesting.run("And", [a, b]).scalars(as: Bool.self) == [false, false, false, true])
        #expect(try ElementwiseTesting.run("Or", [a, b]).scalars(as: Bool.self) == [false, true, true, true])
        #expect(try ElementwiseTesting.run("Xor", [a, b]).scalars(as: Bool.self) == [false, true, true, false])
        #expect(try ElementwiseTesting.run("Not", [a]).scalars(as: Bool.self) == [true, true, false, false])
        // Broadcast: a column against a row.
        let column = try Tensor(shape: [2, 1], scalars: [false, true])
        let row = try Tensor(shape: [3], scalars: [true, false, true])
        let or = try ElementwiseTesting.run("Or", [column, row])
        #expect(or.shape == [2, 3])
        #expect(try or.scalars(as: Bool.self) == [true, false, true, true, true, true])
        #expect(throws: OperatorError.self) { try ElementwiseTesting.infer("And", [TensorType(.float32, [2]), TensorType(.float32, [2])]) }
        #expect(throws: OperatorError.self) { try ElementwiseTesting.infer("Not", [TensorType(.int64, [2])]) }
    }

    // MARK: Where

    @Test func whereMatchesSpecificationExample() throws {
        let condition = try Tensor(shape: [2, 2], scalars: [true, false, true, true])
        let x = try Tensor(shape: [2, 2], scalars: [1, 2, 3, 4] as [Float])
        let y = try Tensor(shape: [2, 2], scalars: [9, 8, 7, 6] as [Float])
        #expect(try ElementwiseTesting.run("Where", [condition, x, y]).scalars(as: Float.self) == [1, 8, 3, 4])
        let ints = try ElementwiseTesting.run("Where", [condition, Tensor(shape: [2, 2], scalars: [1, 2, 3, 4] as [Int64]),
                                                        Tensor(shape: [2, 2], scalars: [9, 8, 7, 6] as [Int64])])
        #expect(try ints.scalars(as: Int64.self) == [1, 8, 3, 4])
    }

    @Test func whereBroadcastsAllThreeInputsForEveryDType() throws {
        // An attention-mask pattern: [1, 1, 3] condition, [2, 1, 1] scores, scalar fill.
        let condition = try Tensor(shape: [1, 1, 3], scalars: [true, false, true])
        let expectedShape = [2, 1, 3]
        let cases: [(Tensor, Tensor, [Float])] = [
            (try Tensor(shape: [2, 1, 1], scalars: [1, 2] as [Float]), Tensor(scalar: Float(-9)), [1, -9, 1, 2, -9, 2]),
            (try Tensor(shape: [2, 1, 1], scalars: [1, 2] as [Float16]), Tensor(scalar: Float16(-9)), [1, -9, 1, 2, -9, 2]),
            (try Tensor(shape: [2, 1, 1], scalars: [1, 2] as [Int32]), Tensor(scalar: Int32(-9)), [1, -9, 1, 2, -9, 2]),
            (try Tensor(shape: [2, 1, 1], scalars: [1, 2] as [Int8]), Tensor(scalar: Int8(-9)), [1, -9, 1, 2, -9, 2]),
            (try Tensor(shape: [2, 1, 1], scalars: [true, false]), Tensor(scalar: false), [1, 0, 1, 0, 0, 0]),
        ]
        for (x, y, expected) in cases {
            let output = try ElementwiseTesting.run("Where", [condition, x, y])
            #expect(output.dtype == x.dtype)
            #expect(output.shape == expectedShape)
            #expect(output.floats() == expected, "\(x.dtype)")
        }
    }

    @Test func whereInfersThreeWayBroadcast() throws {
        let type = try ElementwiseTesting.infer("Where", [TensorType(.bool, [1, "seq"]), TensorType(.float32, ["batch", 1]),
                                                           TensorType(.float32, [])])
        #expect(type == TensorType(.float32, ["batch", "seq"]))
        #expect(throws: OperatorError.self) {
            try ElementwiseTesting.infer("Where", [TensorType(.float32, [2]), TensorType(.float32, [2]), TensorType(.float32, [2])])
        }
        #expect(throws: OperatorError.self) {
            try ElementwiseTesting.infer("Where", [TensorType(.bool, [2]), TensorType(.float32, [2]), TensorType(.int64, [2])])
        }
        #expect(throws: OperatorError.self) {
            try ElementwiseTesting.run("Where", [Tensor(shape: [2], scalars: [1, 0] as [UInt8]), Tensor(scalar: Float(1)),
                                                 Tensor(scalar: Float(0))])
        }
    }

    // MARK: Clip

    @Test func clipMatchesSpecificationExamples() throws {
        let x = try Tensor(shape: [3], scalars: [-2, 0, 2] as [Float])
        let low = Tensor(scalar: Float(-1)), high = Tensor(scalar: Float(1))
        #expect(try ElementwiseTesting.run("Clip", [x, low, high]).scalars(as: Float.self) == [-1, 0, 1])
        // Omitted bounds do not clip.
        let wide = try Tensor(shape: [3], scalars: [-6, -1, 5] as [Float])
        let bounds = Tensor(scalar: Float(-5)), top = Tensor(scalar: Float(5))
        #expect(try ElementwiseTesting.run("Clip", [wide, bounds]).scalars(as: Float.self) == [-5, -1, 5])
        #expect(try ElementwiseTesting.run("Clip", [wide, nil, Tensor(scalar: Float(0))]).scalars(as: Float.self) == [-6, -1, 0])
        #expect(try ElementwiseTesting.run("Clip", [wide]).scalars(as: Float.self) == [-6, -1, 5])
        #expect(try ElementwiseTesting.run("Clip", [wide, bounds, top]).scalars(as: Float.self) == [-5, -1, 5])
        // min > max: everything becomes max.
        #expect(try ElementwiseTesting.run("Clip", [wide, Tensor(scalar: Float(2)), Tensor(scalar: Float(1))])
            .scalars(as: Float.self) == [1, 1, 1])
    }

    @Test(arguments: ElementwiseTesting.sizes)
    func clipMatchesReferenceForFloatsAndInts(n: Int) throws {
        let values = ElementwiseTesting.floats(n, seed: UInt64(n), in: -10...10)
        let clipped = try ElementwiseTesting.run("Clip", [Tensor(shape: [n], scalars: values), Tensor(scalar: Float(-2.5)),
                                                          Tensor(scalar: Float(6))])
        #expect(try clipped.scalars(as: Float.self) == values.map { Swift.min(Swift.max($0, -2.5), 6) })
        let ints = ElementwiseTesting.ints(n, seed: UInt64(n), in: -100...100)
        let clippedInts = try ElementwiseTesting.run("Clip", [Tensor(shape: [n], scalars: ints), Tensor(scalar: Int64(-7)),
                                                              Tensor(scalar: Int64(30))])
        #expect(try clippedInts.scalars(as: Int64.self) == ints.map { Swift.min(Swift.max($0, -7), 30) })
    }

    @Test func clipKeepsNaNAndAcceptsOpset6Attributes() throws {
        let x = try Tensor(shape: [3], scalars: [.nan, -4, 4] as [Float])
        let output = try ElementwiseTesting.run("Clip", [x, Tensor(scalar: Float(-1)), Tensor(scalar: Float(1))]).scalars(as: Float.self)
        #expect(output[0].isNaN && Array(output.dropFirst()) == [-1, 1])
        let legacy = try ElementwiseTesting.run("Clip", [x], attributes: ["min": .float(-3), "max": .float(0.5)], opset: 6)
        let legacyValues = try legacy.scalars(as: Float.self)
        #expect(legacyValues[0].isNaN && Array(legacyValues.dropFirst()) == [-3, 0.5])
        // Opset 6 without attributes clips to the float range, i.e. not at all for finite values.
        #expect(try ElementwiseTesting.run("Clip", [x], opset: 6).scalars(as: Float.self).dropFirst() == [-4, 4])
    }

    @Test func clipValidatesBounds() throws {
        let x = try Tensor(shape: [2], scalars: [1, 2] as [Float])
        let error = #expect(throws: OperatorError.self) {
            try ElementwiseTesting.run("Clip", [x, Tensor(shape: [2], scalars: [0, 1] as [Float])])
        }
        #expect(error?.message.contains("scalar") == true)
        #expect(throws: OperatorError.self) { try ElementwiseTesting.run("Clip", [x, Tensor(scalar: Int64(0))]) }
        #expect(throws: OperatorError.self) {
            try ElementwiseTesting.infer("Clip", [TensorType(.float32, [2]), TensorType(.float32, [3])])
        }
        #expect(try ElementwiseTesting.infer("Clip", [TensorType(.int64, ["n"]), nil, TensorType(.int64, [])])
            == TensorType(.int64, ["n"]))
        #expect(throws: OperatorError.self) { try ElementwiseTesting.infer("Clip", [TensorType(.int64, [2])], opset: 6) }
    }

    // MARK: PRelu

    @Test func preluBroadcastsSlopeToTheInput() throws {
        let x = try Tensor(shape: [1, 2, 2, 2], scalars: [-1, 2, -3, 4, -5, 6, -7, 8] as [Float])
        let slope = try Tensor(shape: [2, 1, 1], scalars: [0.5, 0.25] as [Float])
        let output = try ElementwiseTesting.run("PRelu", [x, slope])
        #expect(output.shape == [1, 2, 2, 2])
        #expect(try output.scalars(as: Float.self) == [-0.5, 2, -1.5, 4, -1.25, 6, -1.75, 8])
        #expect(try ElementwiseTesting.infer("PRelu", [TensorType(.float32, ["batch", 2, "h", "w"]), TensorType(.float32, [2, 1, 1])])
            == TensorType(.float32, ["batch", 2, "h", "w"]))
        // The slope may not grow the input.
        #expect(throws: OperatorError.self) {
            try ElementwiseTesting.run("PRelu", [Tensor(shape: [2], scalars: [1, -1] as [Float]), Tensor(shape: [3, 1], scalars: [1, 2, 3] as [Float])])
        }
        let error = #expect(throws: OperatorError.self) {
            try ElementwiseTesting.infer("PRelu", [TensorType(.float32, [2, 1]), TensorType(.float32, [3])])
        }
        #expect(error?.message == "slope shape [3] does not broadcast to input shape [2, 1]")
        #expect(throws: OperatorError.self) {
            try ElementwiseTesting.infer("PRelu", [TensorType(.float32, ["n", 4]), TensorType(.float32, [5])])
        }
        // Integer PRelu (ONNX allows int32/int64).
        let ints = try ElementwiseTesting.run("PRelu", [Tensor(shape: [3], scalars: [-4, 0, 5] as [Int64]), Tensor(scalar: Int64(3))])
        #expect(try ints.scalars(as: Int64.self) == [-12, 0, 5])
    }

    @Test(arguments: ElementwiseTesting.sizes)
    func preluMatchesReference(n: Int) throws {
        let x = try ElementwiseTesting.tensor([2, 3, n], seed: UInt64(n))
        let slope = try ElementwiseTesting.tensor([3, 1], seed: UInt64(n + 1), in: 0...1)
        let expected = try ElementwiseTesting.referenceBinary(x, slope, as: Float.self) { $0 < 0 ? $0 * $1 : $0 }
        #expect(try ElementwiseTesting.run("PRelu", [x, slope], threads: 2).isIdentical(to: expected))
    }
}
