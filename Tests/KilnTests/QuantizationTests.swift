import Kiln
import KilnTestSupport
import Testing

@Suite struct QuantizationTests {
    typealias T = ExtraOperatorTesting

    @Test(arguments: ExtraOperatorFixtures.quantization)
    func matchesOnnxRuntime(_ fixture: OperatorFixture) throws {
        try T.check(fixture, rtol: 1e-6, atol: 1e-6)
    }

    @Test func quantizeRoundsHalvesToEvenAndSaturates() throws {
        let op = try T.op(QuantizeLinear.self, inputs: 3)
        let x = try Tensor(shape: [8], scalars: [Float(0.5), 1.5, 2.5, -0.5, -1.5, 1000, -1000, .nan])
        let uint8 = try T.run(op, [x, Tensor(scalar: Float(1)), Tensor(scalar: UInt8(10))])[0]
        #expect(try uint8.scalars(as: UInt8.self) == [10, 12, 12, 10, 8, 255, 0, 0])
        let int8 = try T.run(op, [x, Tensor(scalar: Float(1)), Tensor(scalar: Int8(-1))])[0]
        #expect(try int8.scalars(as: Int8.self) == [-1, 1, 1, -1, -3, 127, -128, -128])
        // No zero point and no output_dtype: uint8.
        let noZero = try T.op(QuantizeLinear.self, inputs: 2)
        #expect(try T.run(noZero, [x, Tensor(scalar: Float(2))])[0].scalars(as: UInt8.self) == [0, 1, 1, 0, 0, 255, 0, 0])
        // output_dtype (opset 21) chooses int8 without a zero point.
        let typed = try T.op(QuantizeLinear.self, inputs: 2, attributes: ["output_dtype": .int(3)])
        #expect(try T.run(typed, [x, Tensor(scalar: Float(1))])[0].scalars(as: Int8.self) == [0, 2, 2, 0, -2, 127, -128, -128])
    }

    @Test func quantizeLayoutsCoverEveryElementOverEdgeSizes() throws {
        // Per-axis over the middle axis and blocked along the last: compare with a direct formula.
        for size in T.edgeSizes {
            let x = try T.floats([2, 3, size], seed: UInt64(size))
            let values = x.floats()
            let scales: [Float] = [0.5, 0.25, 2]
            let perAxis = try T.op(QuantizeLinear.self, inputs: 3, attributes: ["axis": .int(1)])
            let zeroPoints: [Int8] = [-3, 0, 5]
            let y = try T.run(perAxis, [x, try Tensor(shape: [3], scalars: scales), try Tensor(shape: [3], scalars: zeroPoints)])[0]
            let expected = values.indices.map { index -> Int8 in
                let channel = (index / size) % 3
                let q = (values[index] / scales[channel]).rounded(.toNearestOrEven) + Float(zeroPoints[channel])
                return Int8(min(max(q, -128), 127))
            }
            #expect(try y.scalars(as: Int8.self) == expected, "per axis, size \(size)")

            let blocks = (size + 3) / 4
            let blockScales = try T.floats([2, 3, blocks], seed: 99).floats().map { abs($0) + 0.5 }
            let blocked = try T.op(QuantizeLinear.self, inputs: 2, attributes: ["axis": .int(-1), "block_size": .int(4)])
            let z = try T.run(blocked, [x, try Tensor(shape: [2, 3, blocks], scalars: blockScales)])[0]
            let expectedBlocked = values.indices.map { index -> UInt8 in
                let row = index / max(size, 1), column = index % max(size, 1)
                let q = (values[index] / blockScales[row * blocks + column / 4]).rounded(.toNearestOrEven)
                return UInt8(min(max(q, 0), 255))
            }
            #expect(try z.scalars(as: UInt8.self) == expectedBlocked, "blocked, size \(size)")
        }
    }

    @Test func dequantizeInvertsQuantizeOnTheGrid() throws {
        let quantize = try T.op(QuantizeLinear.self, inputs: 3, attributes: ["axis": .int(0)])
        let dequantize = try T.op(DequantizeLinear.self, inputs: 3, attributes: ["axis": .int(0)])
        let scales = try Tensor(shape: [2], scalars: [Float(0.5), 0.125])
        let zeroPoints = try Tensor(shape: [2], scalars: [UInt8(100), 7])
        let grid = try Tensor(shape: [2, 3], scalars: [Float(-50), 0, 77.5, -0.875, 0, 31.125])
        let q = try T.run(quantize, [grid, scales, zeroPoints])[0]
        #expect(try q.scalars(as: UInt8.self) == [0, 100, 255, 0, 7, 255])
        let back = try T.run(dequantize, [q, scales, zeroPoints])[0]
        #expect(try back.scalars(as: Float.self) == [-50, 0, 77.5, -0.875, 0, 31])
    }

    @Test func quantizationErrorsNameTheProblem() throws {
        let context = ExecutionContext(threads: 1)
        let x = try T.floats([2, 3])
        let op = try T.op(QuantizeLinear.self, inputs: 3, attributes: ["axis": .int(1)])
        #expect(T.operatorError { _ = try op.run([x, try Tensor(shape: [2], scalars: [Float(1), 2]), try Tensor(shape: [2], scalars: [UInt8(0), 0])], context: context) }?
            .contains("per-axis scale must be 1-D with 3 values") == true)
        #expect(T.operatorError { _ = try op.run([x, try Tensor(shape: [3], scalars: [Float(1), 2, 3]), try Tensor(shape: [1], scalars: [UInt8(0)])], context: context) }?
            .contains("y_zero_point has shape [1], y_scale has shape [3]") == true)
        #expect(T.operatorError { _ = try op.run([x, Tensor(scalar: Float(1)), Tensor(scalar: Int32(0))], context: context) }?
            .contains("uint8 or int8") == true)
        let blocked = try T.op(QuantizeLinear.self, inputs: 2, attributes: ["axis": .int(1), "block_size": .int(2)])
        #expect(T.operatorError { _ = try blocked.run([x, try Tensor(shape: [2, 1], scalars: [Float(1), 2])], context: context) }?
            .contains("must have shape [2, 2]") == true)
        // A block as large as the axis (or larger) is one block per row.
        let huge = try T.op(QuantizeLinear.self, inputs: 2, attributes: ["axis": .int(1), "block_size": .int(Int.max)])
        let rows = try T.run(huge, [try Tensor(shape: [2, 3], scalars: [Float(1), 2, 3, 4, 5, 6]), try Tensor(shape: [2, 1], scalars: [Float(1), 2])])[0]
        #expect(try rows.scalars(as: UInt8.self) == [1, 2, 3, 2, 2, 3])
        #expect(T.operatorError { _ = try T.op(QuantizeLinear.self, inputs: 2, attributes: ["output_dtype": .int(6)]) }?
            .contains("uint8 or int8") == true)
        let dequantize = try T.op(DequantizeLinear.self, inputs: 3)
        #expect(T.operatorError { _ = try dequantize.run([try T.integers(.uint8, [3], in: 0...9), Tensor(scalar: Float(1)), Tensor(scalar: Int8(0))], context: context) }?
            .contains("x_zero_point is int8, x is uint8") == true)
        #expect(T.operatorError { _ = try dequantize.run([x, Tensor(scalar: Float(1)), nil], context: context) }?
            .contains("x must be uint8, int8 or int32") == true)
    }

    @Test func dynamicQuantizeOfZerosUsesUnitRange() throws {
        let op = try T.op(DynamicQuantizeLinear.self, inputs: 1, outputs: 3)
        let outputs = try T.run(op, [try Tensor(zeros: .float32, shape: [4])])
        #expect(try outputs[0].scalars(as: UInt8.self) == [0, 0, 0, 0])
        #expect(try outputs[1].scalars(as: Float.self) == [Float(1) / 255])
        #expect(try outputs[2].scalars(as: UInt8.self) == [0])
    }

    /// The dgemm path against the Int64 triple loop over edge sizes, with operands whose sums pass
    /// 2^24 (where float32 accumulation would round).
    @Test func integerProductIsExact() throws {
        for size in T.edgeSizes {
            for (m, n, k) in [(size, 3, 5), (4, size, 700), (3, 2, size), (size, size, size)] {
                // One spare element keeps every buffer non-empty, so its base address exists.
                let a = (0...(m * k)).map { Double(($0 * 37 + 11) % 511 - 255) }
                let b = (0...(k * n)).map { Double(($0 * 53 + 7) % 511 - 255) }
                var fast = [Double](repeating: .nan, count: m * n + 1), reference = [Double](repeating: .nan, count: m * n + 1)
                try a.withUnsafeBufferPointer { x in
                    try b.withUnsafeBufferPointer { w in
                        try fast.withUnsafeMutableBufferPointer { c in
                            try IntegerMatrixMultiplication.multiply(m: m, n: n, k: k, a: x.baseAddress!, lda: k, b: w.baseAddress!,
                                                                     ldb: n, c: c.baseAddress!, ldc: n)
                        }
                        reference.withUnsafeMutableBufferPointer { c in
                            IntegerMatrixMultiplication.reference(m: m, n: n, k: k, a: x.baseAddress!, lda: k, b: w.baseAddress!,
                                                                  ldb: n, c: c.baseAddress!, ldc: n)
                        }
                    }
                }
                #expect(fast.dropLast() == reference.dropLast(), "m \(m) n \(n) k \(k)")
            }
        }
    }

    @Test func matMulIntegerWrapsLikeA32BitAccumulator() throws {
        // 255 * 255 * 40,000 = 2,601,000,000 > Int32.max: the int32 result wraps.
        let k = 40_000
        let a = try Tensor(shape: [1, k], scalars: [UInt8](repeating: 255, count: k))
        let b = try Tensor(shape: [k, 1], scalars: [UInt8](repeating: 255, count: k))
        let op = try T.op(MatMulInteger.self, inputs: 2)
        let y = try T.run(op, [a, b])[0]
        #expect(try y.scalars(as: Int32.self) == [Int32(truncatingIfNeeded: 2_601_000_000)])
    }

    @Test func convIntegerMatchesTheFloatReferenceOnCentredValues() throws {
        // Exact integer results equal the Double-accumulating float reference of Conv on centred values.
        for (stride, dilation, pads, group) in [(1, 1, 0, 1), (2, 1, 1, 1), (1, 2, 2, 2), (3, 1, 1, 4)] {
            let x = try T.integers(.uint8, [2, 4, 9, 8], in: 0...255, seed: UInt64(stride))
            let w = try T.integers(.int8, [4, 4 / group, 3, 3], in: -128...127, seed: UInt64(dilation + 7))
            let attributes: [String: Attribute] = ["strides": .ints([stride, stride]), "dilations": .ints([dilation, dilation]),
                                                   "pads": .ints([pads, pads, pads, pads]), "group": .int(group)]
            let op = try T.op(ConvInteger.self, inputs: 4, attributes: attributes)
            let xZero = Tensor(scalar: UInt8(117)), wZero = try Tensor(shape: [4], scalars: [Int8(-3), 0, 4, 100])
            let y = try T.run(op, [x, w, xZero, wZero])[0]

            let window = try SlidingWindowAttributes(node: Node(name: "n", opType: "Conv", inputs: [], outputs: [], attributes: attributes))
            let geometry = try window.forwardGeometry(inputSize: [9, 8], kernel: [3, 3], ceilMode: false)
            let centredX = x.floats().map { $0 - 117 }
            let wOffsets: [Float] = [-3, 0, 4, 100]
            let perChannel = w.count / 4
            let centredW = w.floats().enumerated().map { $1 - wOffsets[$0 / perChannel] }
            var expected = [Float](repeating: 0, count: y.count)
            centredX.withUnsafeBufferPointer { xs in
                centredW.withUnsafeBufferPointer { ws in
                    expected.withUnsafeMutableBufferPointer { out in
                        ConvolutionKernels.reference(input: xs.baseAddress!, weights: ws.baseAddress!, bias: nil, output: out.baseAddress!,
                                                     batch: 2, inputChannels: 4, outputChannels: 4, groups: group, geometry: geometry)
                    }
                }
            }
            #expect(y.shape == [2, 4] + geometry.outputSize)
            #expect(try y.scalars(as: Int32.self) == expected.map { Int32($0) }, "stride \(stride) dilation \(dilation) group \(group)")
        }
    }

    @Test func integerOperatorErrors() throws {
        let context = ExecutionContext(threads: 1)
        let matmul = try T.op(MatMulInteger.self, inputs: 4)
        let a = try T.integers(.uint8, [2, 3], in: 0...9), b = try T.integers(.uint8, [3, 4], in: 0...9)
        #expect(T.operatorError { _ = try matmul.run([a, try T.integers(.uint8, [4, 4], in: 0...9), nil, nil], context: context) }?
            .contains("inner dims differ") == true)
        #expect(T.operatorError { _ = try matmul.run([a, b, Tensor(scalar: Int8(0)), nil], context: context) }?
            .contains("the zero point of A is int8, A is uint8") == true)
        #expect(T.operatorError { _ = try matmul.run([a, b, nil, try Tensor(shape: [3], scalars: [UInt8(1), 2, 3])], context: context) }?
            .contains("the zero point of B of shape [3] does not broadcast to [3, 4]") == true)
        #expect(T.operatorError { _ = try matmul.run([try T.floats([2, 3]), b, nil, nil], context: context) }?
            .contains("A must be uint8 or int8") == true)
        let conv = try T.op(ConvInteger.self, inputs: 4)
        let x = try T.integers(.uint8, [1, 2, 4, 4], in: 0...9), w = try T.integers(.uint8, [3, 2, 2, 2], in: 0...9)
        #expect(T.operatorError { _ = try conv.run([x, w, try Tensor(shape: [2], scalars: [UInt8(1), 2]), nil], context: context) }?
            .contains("x_zero_point must hold one value") == true)
        #expect(T.operatorError { _ = try conv.run([x, w, nil, try Tensor(shape: [2], scalars: [UInt8(1), 2])], context: context) }?
            .contains("one per output channel (3)") == true)
        #expect(T.operatorError { _ = try conv.run([x, try T.integers(.uint8, [3, 3, 2, 2], in: 0...9), nil, nil], context: context) }?
            .contains("channels must split evenly") == true)
        let qconv = try T.op(QLinearConv.self, inputs: 9)
        let scale = Tensor(scalar: Float(0.1)), zero = Tensor(scalar: UInt8(0))
        #expect(T.operatorError {
            _ = try qconv.run([x, scale, zero, w, scale, zero, scale, zero, try Tensor(shape: [2], scalars: [Int32(1), 2])], context: context)
        }?.contains("B must be int32 with one value per output channel (3)") == true)
        let qmatmul = try T.op(QLinearMatMul.self, inputs: 8)
        #expect(T.operatorError {
            _ = try qmatmul.run([a, scale, zero, b, Tensor(scalar: Float16(0.1)), zero, scale, zero], context: context)
        }?.contains("all be float32 or all float16") == true)
    }
}
