import Foundation
import Kiln
import KilnTestSupport
import Testing

@Suite struct ElementwiseArithmeticTests {
    static func broadcastShapes(_ n: Int) -> [([Int], [Int])] {
        [([n], [n]), ([2, n], []), ([], [n]), ([3, n], [n]), ([n, 1], [1, 4]), ([2, 3, n], [3, 1]), ([1, n, 2], [3, 1, 1])]
    }

    // MARK: Fast vs reference, every dtype

    @Test(arguments: ElementwiseTesting.sizes)
    func floatArithmeticMatchesReference(n: Int) throws {
        let operations: [(String, @Sendable (Float, Float) -> Float)] = [
            ("Add", { $0 + $1 }), ("Sub", { $0 - $1 }), ("Mul", { $0 * $1 }), ("Div", { $0 / $1 }),
            ("Max", { $0 > $1 ? $0 : $1 }), ("Min", { $0 < $1 ? $0 : $1 }), ("Sum", { $0 + $1 }),
            ("Pow", { pow(abs($0), $1) }),
        ]
        for (opType, body) in operations {
            for (leftShape, rightShape) in Self.broadcastShapes(n) {
                var left = try ElementwiseTesting.tensor(leftShape, seed: UInt64(n + 1), in: -3...3)
                if opType == "Pow" {  // keep powers real
                    left = try Tensor(shape: leftShape, scalars: left.scalars(as: Float.self).map(abs))
                }
                let right = try ElementwiseTesting.tensor(rightShape, seed: UInt64(n + 2), in: 0.5...3)
                let expected = try ElementwiseTesting.referenceBinary(left, right, as: Float.self, body)
                let output = try ElementwiseTesting.run(opType, [left, right], threads: 2)
                #expect(output.isIdentical(to: expected), "\(opType) \(leftShape) with \(rightShape)")
            }
        }
    }

    @Test(arguments: ElementwiseTesting.sizes)
    func integerArithmeticMatchesReference(n: Int) throws {
        let operations: [(String, @Sendable (Int64, Int64) -> Int64)] = [
            ("Add", { $0 &+ $1 }), ("Sub", { $0 &- $1 }), ("Mul", { $0 &* $1 }),
            ("Div", { $0 / $1 }), ("Max", { max($0, $1) }), ("Min", { min($0, $1) }),
        ]
        for (opType, body) in operations {
            for (leftShape, rightShape) in Self.broadcastShapes(n) {
                let leftValues = ElementwiseTesting.ints(leftShape.reduce(1, *), seed: UInt64(n + 3), in: -1000...1000)
                // Nonzero divisors of both signs.
                let rightValues = ElementwiseTesting.ints(rightShape.reduce(1, *), seed: UInt64(n + 4), in: 1...9)
                    .enumerated().map { $0.offset % 2 == 0 ? $0.element : -$0.element }
                for dtype in [DType.int64, .int32] {
                    let left = dtype == .int64 ? try Tensor(shape: leftShape, scalars: leftValues)
                        : try Tensor(shape: leftShape, scalars: leftValues.map { Int32($0) })
                    let right = dtype == .int64 ? try Tensor(shape: rightShape, scalars: rightValues)
                        : try Tensor(shape: rightShape, scalars: rightValues.map { Int32($0) })
                    let expected = try ElementwiseTesting.referenceBinary(
                        Tensor(shape: leftShape, scalars: leftValues), Tensor(shape: rightShape, scalars: rightValues),
                        as: Int64.self, body)
                    let output = try ElementwiseTesting.run(opType, [left, right])
                    #expect(output.dtype == dtype)
                    #expect(output.int64s() == expected.int64s(), "\(opType) \(dtype) \(leftShape) with \(rightShape)")
                }
            }
        }
    }

    // MARK: ONNX specification examples and integer semantics

    @Test func arithmeticMatchesSpecificationExamples() throws {
        let x = try Tensor(shape: [3], scalars: [1, 2, 3] as [Float])
        let y = try Tensor(shape: [3], scalars: [4, 5, 6] as [Float])
        #expect(try ElementwiseTesting.run("Add", [x, y]).scalars(as: Float.self) == [5, 7, 9])
        #expect(try ElementwiseTesting.run("Sub", [x, try Tensor(shape: [3], scalars: [3, 2, 1] as [Float])])
            .scalars(as: Float.self) == [-2, 0, 2])
        #expect(try ElementwiseTesting.run("Mul", [x, y]).scalars(as: Float.self) == [4, 10, 18])
        #expect(try ElementwiseTesting.run("Div", [try Tensor(shape: [2], scalars: [3, 4] as [Float]),
                                                   try Tensor(shape: [2], scalars: [1, 2] as [Float])])
            .scalars(as: Float.self) == [3, 2])
        #expect(try ElementwiseTesting.run("Pow", [x, y]).scalars(as: Float.self) == [1, 32, 729])
        #expect(try ElementwiseTesting.run("Pow", [x, Tensor(scalar: Float(2))]).scalars(as: Float.self) == [1, 4, 9])
        let matrix = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6] as [Float])
        #expect(try ElementwiseTesting.run("Pow", [matrix, x]).scalars(as: Float.self) == [1, 4, 27, 4, 25, 216])
    }

    @Test func integerDivisionTruncatesTowardZero() throws {
        let dividend = try Tensor(shape: [6], scalars: [7, -7, 7, -7, 0, Int64.min] as [Int64])
        let divisor = try Tensor(shape: [6], scalars: [2, 2, -2, -2, 5, -1] as [Int64])
        #expect(try ElementwiseTesting.run("Div", [dividend, divisor]).scalars(as: Int64.self) == [3, -3, -3, 3, 0, Int64.min])
        let int32s = try ElementwiseTesting.run("Div", [Tensor(shape: [2], scalars: [-9, 9] as [Int32]), Tensor(scalar: Int32(4))])
        #expect(try int32s.scalars(as: Int32.self) == [-2, 2])
    }

    @Test func integerDivisionByZeroIsAnError() throws {
        let error = #expect(throws: OperatorError.self) {
            try ElementwiseTesting.run("Div", [Tensor(shape: [2], scalars: [1, 2] as [Int64]),
                                               Tensor(shape: [2], scalars: [1, 0] as [Int64])])
        }
        #expect(error?.message.contains("division by zero") == true)
        // Floats follow IEEE instead.
        let floats = try ElementwiseTesting.run("Div", [Tensor(shape: [2], scalars: [1, -1] as [Float]), Tensor(scalar: Float(0))])
        #expect(try floats.scalars(as: Float.self) == [.infinity, -.infinity])
    }

    @Test func integerOverflowWraps() throws {
        let big = try Tensor(shape: [2], scalars: [Int32.max, Int32.min] as [Int32])
        let one = Tensor(scalar: Int32(1))
        #expect(try ElementwiseTesting.run("Add", [big, one]).scalars(as: Int32.self) == [Int32.min, Int32.min + 1])
        #expect(try ElementwiseTesting.run("Sub", [big, one]).scalars(as: Int32.self) == [Int32.max - 1, Int32.max])
        #expect(try ElementwiseTesting.run("Mul", [big, Tensor(scalar: Int32(2))]).scalars(as: Int32.self) == [-2, 0])
    }

    @Test func smallIntegerTypesAreSupported() throws {
        let bytes = try Tensor(shape: [3], scalars: [250, 3, 7] as [UInt8])
        #expect(try ElementwiseTesting.run("Add", [bytes, Tensor(scalar: UInt8(10))]).scalars(as: UInt8.self) == [4, 13, 17])
        let signed = try Tensor(shape: [2], scalars: [-128, 100] as [Int8])
        #expect(try ElementwiseTesting.run("Mul", [signed, Tensor(scalar: Int8(2))]).scalars(as: Int8.self) == [0, -56])
    }

    @Test func powHandlesMixedAndIntegerTypes() throws {
        let base = try Tensor(shape: [4], scalars: [2, -3, 5, 1] as [Int64])
        let exponents = try Tensor(shape: [4], scalars: [10, 3, 0, -2] as [Int64])
        #expect(try ElementwiseTesting.run("Pow", [base, exponents]).scalars(as: Int64.self) == [1024, -27, 1, 1])
        let negativeExponents = try Tensor(shape: [3], scalars: [-1, -1, -2] as [Int32])
        let int32Base = try Tensor(shape: [3], scalars: [2, -1, -1] as [Int32])
        #expect(try ElementwiseTesting.run("Pow", [int32Base, negativeExponents]).scalars(as: Int32.self) == [0, -1, 1])
        // Float base, int64 exponent; int base, float exponent (truncated).
        let floats = try Tensor(shape: [2], scalars: [1.5, -2] as [Float])
        #expect(try ElementwiseTesting.run("Pow", [floats, Tensor(scalar: Int64(3))]).scalars(as: Float.self) == [3.375, -8])
        #expect(try ElementwiseTesting.run("Pow", [Tensor(shape: [2], scalars: [10, 2] as [Int64]), Tensor(scalar: Float(0.5))])
            .scalars(as: Int64.self) == [3, 1])
        // Exponent 2 takes the multiply path; it must equal libm's correctly rounded square.
        let values = ElementwiseTesting.floats(1000, seed: 2, in: -100...100)
        let squares = try ElementwiseTesting.run("Pow", [Tensor(shape: [1000], scalars: values), Tensor(scalar: Float(2))])
        #expect(try squares.scalars(as: Float.self) == values.map { Float(pow(Double($0), 2)) })
        #expect(throws: OperatorError.self) {
            try ElementwiseTesting.infer("Pow", [TensorType(.bool, [2]), TensorType(.float32, [2])])
        }
    }

    @Test func modMatchesSpecificationExamples() throws {
        let x = try Tensor(shape: [6], scalars: [-4, 7, 5, 4, -7, 8] as [Int64])
        let y = try Tensor(shape: [6], scalars: [2, -3, 8, -2, 3, 5] as [Int64])
        #expect(try ElementwiseTesting.run("Mod", [x, y]).scalars(as: Int64.self) == [0, -2, 5, 0, 2, 3])
        #expect(try ElementwiseTesting.run("Mod", [x, y], attributes: ["fmod": .int(1)]).scalars(as: Int64.self)
            == [0, 1, 5, 0, -1, 3])
        let floats = try Tensor(shape: [6], scalars: [-4.3, 7.2, 5.0, 4.3, -7.2, 8.0] as [Float])
        let divisors = try Tensor(shape: [6], scalars: [2.1, -3.4, 8.0, -2.1, 3.4, 5.0] as [Float])
        let remainders = try ElementwiseTesting.run("Mod", [floats, divisors], attributes: ["fmod": .int(1)])
        let comparison = Comparison.compare(remainders, try Tensor(shape: [6], scalars: [-0.1, 0.4, 5, 0.1, -0.4, 3] as [Float]),
                                            rtol: 1e-5, atol: 1e-5)
        #expect(comparison.isClose, "\(comparison)")
        // Broadcast int32 against a scalar; remainder by zero and float without fmod are errors.
        let int32s = try ElementwiseTesting.run("Mod", [Tensor(shape: [4], scalars: [-5, -1, 0, 6] as [Int32]), Tensor(scalar: Int32(4))])
        #expect(try int32s.scalars(as: Int32.self) == [3, 3, 0, 2])
        #expect(throws: OperatorError.self) { try ElementwiseTesting.run("Mod", [x, Tensor(scalar: Int64(0))]) }
        #expect(throws: OperatorError.self) { try ElementwiseTesting.run("Mod", [floats, divisors]) }
        #expect(throws: OperatorError.self) {
            try ElementwiseTesting.infer("Mod", [TensorType(.float32, [2]), TensorType(.float32, [2])])
        }
        #expect(throws: GraphError.self) { try ElementwiseTesting.makeOperator("Mod", inputs: 2, attributes: ["fmod": .int(2)]) }
    }

    @Test(arguments: ElementwiseTesting.sizes)
    func modMatchesPythonSemanticsAtEverySize(n: Int) throws {
        let a = ElementwiseTesting.ints(n, seed: UInt64(n), in: -100...100)
        let b = ElementwiseTesting.ints(n, seed: UInt64(n + 50), in: 1...7).enumerated().map { $0.offset % 3 == 0 ? -$0.element : $0.element }
        let output = try ElementwiseTesting.run("Mod", [Tensor(shape: [n], scalars: a), Tensor(shape: [n], scalars: b)])
        // Floor-division remainder, computed independently in Double.
        let expected = zip(a, b).map { (x: Int64, y: Int64) -> Int64 in
            let quotient = (Double(x) / Double(y)).rounded(.down)
            return x - y * Int64(quotient)
        }
        #expect(try output.scalars(as: Int64.self) == expected)
    }

    // MARK: Variadic operators

    @Test func variadicOperatorsMatchSpecificationExamples() throws {
        let inputs = [try Tensor(shape: [3], scalars: [3, 2, 1] as [Float]), try Tensor(shape: [3], scalars: [1, 4, 4] as [Float]),
                      try Tensor(shape: [3], scalars: [2, 5, 3] as [Float])]
        #expect(try ElementwiseTesting.run("Max", inputs).scalars(as: Float.self) == [3, 5, 4])
        #expect(try ElementwiseTesting.run("Min", inputs).scalars(as: Float.self) == [1, 2, 1])
        #expect(try ElementwiseTesting.run("Sum", inputs).scalars(as: Float.self) == [6, 11, 8])
        #expect(try ElementwiseTesting.run("Mean", inputs).scalars(as: Float.self) == [2, 11.0 / 3, 8.0 / 3])
        // One input passes through.
        #expect(try ElementwiseTesting.run("Max", [inputs[0]]).scalars(as: Float.self) == [3, 2, 1])
        #expect(try ElementwiseTesting.run("Mean", [inputs[1]]).scalars(as: Float.self) == [1, 4, 4])
    }

    @Test func variadicOperatorsBroadcastAllInputs() throws {
        let column = try Tensor(shape: [2, 1], scalars: [1, 10] as [Float])
        let row = try Tensor(shape: [3], scalars: [1, 2, 3] as [Float])
        let scalar = Tensor(scalar: Float(100))
        let sum = try ElementwiseTesting.run("Sum", [column, row, scalar])
        #expect(sum.shape == [2, 3])
        #expect(try sum.scalars(as: Float.self) == [102, 103, 104, 111, 112, 113])
        let mean = try ElementwiseTesting.run("Mean", [column, row])
        #expect(try mean.scalars(as: Float.self) == [1, 1.5, 2, 5.5, 6, 6.5])
        let intMax = try ElementwiseTesting.run("Max", [Tensor(shape: [3], scalars: [1, 5, -2] as [Int64]), Tensor(scalar: Int64(0))])
        #expect(try intMax.scalars(as: Int64.self) == [1, 5, 0])
    }

    @Test func maxAndMinPropagateNaN() throws {
        let a = try Tensor(shape: [3], scalars: [.nan, 1, 2] as [Float])
        let b = try Tensor(shape: [3], scalars: [0, .nan, 3] as [Float])
        for opType in ["Max", "Min"] {
            let output = try ElementwiseTesting.run(opType, [a, b]).scalars(as: Float.self)
            #expect(output[0].isNaN && output[1].isNaN, "\(opType): \(output)")
        }
    }

    @Test func meanRejectsIntegers() throws {
        #expect(throws: OperatorError.self) {
            try ElementwiseTesting.infer("Mean", [TensorType(.int64, [2]), TensorType(.int64, [2])])
        }
        #expect(throws: OperatorError.self) {
            try ElementwiseTesting.run("Mean", [Tensor(shape: [1], scalars: [1] as [Int64])])
        }
    }

    // MARK: Type inference and errors

    @Test func inferenceBroadcastsSymbolicDims() throws {
        #expect(try ElementwiseTesting.infer("Add", [TensorType(.float32, ["batch", 3]), TensorType(.float32, [3])])
            == TensorType(.float32, ["batch", 3]))
        #expect(try ElementwiseTesting.infer("Mul", [TensorType(.float32, ["batch", 1, 4]), TensorType(.float32, [1, "seq", 1])])
            == TensorType(.float32, ["batch", "seq", 4]))
        #expect(try ElementwiseTesting.infer("Div", [TensorType(.int64, []), TensorType(.int64, ["n"])])
            == TensorType(.int64, ["n"]))
        #expect(try ElementwiseTesting.infer("Sum", [TensorType(.float32, [2, 1]), TensorType(.float32, [5]),
                                                    TensorType(.float32, ["k", 1, 1])])
            == TensorType(.float32, ["k", 2, 5]))
        // Two different symbols: a fresh one stands for "whichever is not 1".
        let merged = try ElementwiseTesting.infer("Sub", [TensorType(.float32, ["a"]), TensorType(.float32, ["b"])])
        #expect(merged.shape?.count == 1 && merged.shape != ["a"] && merged.shape != ["b"])
        // Unknown rank gives an unknown shape.
        #expect(try ElementwiseTesting.infer("Add", [TensorType(.float32, nil), TensorType(.float32, [3])])
            == TensorType(.float32, nil))
    }

    @Test func nonBroadcastableShapesAreNamed() throws {
        let error = #expect(throws: OperatorError.self) {
            try ElementwiseTesting.infer("Add", [TensorType(.float32, ["batch", 3]), TensorType(.float32, [4])])
        }
        #expect(error?.message == "input shapes [batch, 3], [4] do not broadcast")
        let runError = #expect(throws: OperatorError.self) {
            try ElementwiseTesting.run("Mul", [ElementwiseTesting.tensor([2, 3], seed: 1), ElementwiseTesting.tensor([2], seed: 2)])
        }
        #expect(runError?.message.contains("[2, 3]") == true)
    }

    @Test func mismatchedDTypesAreRejected() throws {
        let error = #expect(throws: OperatorError.self) {
            try ElementwiseTesting.infer("Add", [TensorType(.float32, [2]), TensorType(.int64, [2])])
        }
        #expect(error?.message.contains("int64") == true)
        #expect(throws: OperatorError.self) {
            try ElementwiseTesting.run("Sub", [Tensor(shape: [1], scalars: [1] as [Float]), Tensor(shape: [1], scalars: [1] as [Int64])])
        }
        #expect(throws: OperatorError.self) {
            try ElementwiseTesting.infer("Mul", [TensorType(.bool, [2]), TensorType(.bool, [2])])
        }
    }

    @Test func legacyBroadcastAxisIsRejected() throws {
        #expect(throws: GraphError.self) {
            try ElementwiseTesting.makeOperator("Add", inputs: 2, attributes: ["broadcast": .int(1), "axis": .int(1)], opset: 6)
        }
        // `broadcast` alone is numpy-style trailing alignment, which is what Kiln does.
        _ = try ElementwiseTesting.makeOperator("Add", inputs: 2, attributes: ["broadcast": .int(1)], opset: 6)
    }
}
