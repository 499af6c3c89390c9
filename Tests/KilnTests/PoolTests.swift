import Kiln
import KilnTestSupport
import Testing

@Suite struct PoolTests {
    typealias T = NeuralNetworkTesting

    struct Case: CustomStringConvertible, Sendable {
        var batch = 1, channels = 2
        var spatial: [Int]
        var kernel: [Int]
        var strides: [Int]? = nil
        var dilations: [Int]? = nil
        var pads: [Int]? = nil
        var autoPad: String? = nil
        var ceilMode = false

        func attributes(countIncludePad: Bool? = nil) -> [String: Attribute] {
            var result: [String: Attribute] = ["kernel_shape": .ints(kernel)]
            if let strides { result["strides"] = .ints(strides) }
            if let dilations { result["dilations"] = .ints(dilations) }
            if let pads { result["pads"] = .ints(pads) }
            if let autoPad { result["auto_pad"] = .string(autoPad) }
            if ceilMode { result["ceil_mode"] = .int(1) }
            if let countIncludePad { result["count_include_pad"] = .int(countIncludePad ? 1 : 0) }
            return result
        }

        var description: String {
            "N\(batch) C\(channels) in\(spatial) k\(kernel) s\(strides ?? []) d\(dilations ?? []) p\(pads ?? []) \(autoPad ?? "") ceil=\(ceilMode)"
        }
    }

    static let cases: [Case] = [
        Case(spatial: [8, 8], kernel: [2, 2], strides: [2, 2]),
        Case(batch: 2, channels: 3, spatial: [15, 17], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1]),
        Case(spatial: [17, 16], kernel: [3, 3], strides: [2, 2], ceilMode: true),
        Case(spatial: [7, 9], kernel: [3, 2], strides: [2, 3], pads: [1, 0, 2, 1], ceilMode: true),
        Case(spatial: [9, 9], kernel: [3, 3], dilations: [2, 2], pads: [2, 1, 2, 1]),
        Case(spatial: [9, 10], kernel: [2, 3], strides: [3, 2], dilations: [2, 1], ceilMode: true),
        Case(spatial: [7, 8], kernel: [3, 3], strides: [2, 2], autoPad: "SAME_UPPER"),
        Case(spatial: [7, 8], kernel: [4, 4], strides: [2, 2], autoPad: "SAME_LOWER"),
        Case(spatial: [7, 8], kernel: [3, 3], strides: [2, 2], autoPad: "VALID"),
        Case(spatial: [31], kernel: [4], strides: [3], pads: [2, 1]),
        Case(spatial: [32], kernel: [3], strides: [1], pads: [1, 1]),
        Case(spatial: [33], kernel: [5], strides: [4], pads: [1, 2], ceilMode: true),
        Case(spatial: [4, 5, 6], kernel: [2, 3, 2], strides: [2, 1, 2], pads: [1, 1, 0, 0, 1, 1]),
        Case(spatial: [3, 3, 3], kernel: [3, 3, 3], strides: [2, 2, 2], pads: [1, 1, 1, 1, 1, 1], ceilMode: true),
        Case(spatial: [1, 1], kernel: [1, 1]),
        Case(spatial: [5, 5], kernel: [5, 5], pads: [2, 2, 2, 2]),
    ]

    static func check(_ test: Case, mode: PoolingMode, seed: UInt64) throws {
        let x = T.random([test.batch, test.channels] + test.spatial, seed: seed)
        let y: Tensor
        var countIncludePad: Bool? = nil
        switch mode {
        case .maximum: y = try T.run(MaxPool.self, [x], attributes: test.attributes())[0]
        case .average(let include):
            countIncludePad = include
            y = try T.run(AveragePool.self, [x], attributes: test.attributes(countIncludePad: include))[0]
        }
        let node = Node(name: "pool", opType: "MaxPool", inputs: [], outputs: [], attributes: test.attributes(countIncludePad: countIncludePad))
        let geometry = try SlidingWindowAttributes(node: node).forwardGeometry(inputSize: test.spatial, kernel: test.kernel,
                                                                              ceilMode: test.ceilMode)
        #expect(y.shape == [test.batch, test.channels] + geometry.outputSize)
        let planes = test.batch * test.channels
        let expected = T.reference(y.shape, [x]) { pointers, output in
            for plane in 0..<planes {
                PoolingKernels.reference(pointers[0] + plane * geometry.inputVolume, geometry: geometry, mode: mode,
                                         output: output + plane * geometry.outputVolume)
            }
        }
        T.expectClose(y, expected, rtol: 1e-5, atol: 1e-6, "\(test) \(mode)")
    }

    @Test(arguments: cases.indices)
    func matchesReferencePooling(index: Int) throws {
        try Self.check(Self.cases[index], mode: .maximum, seed: UInt64(index))
        try Self.check(Self.cases[index], mode: .average(countIncludePad: false), seed: UInt64(index))
        try Self.check(Self.cases[index], mode: .average(countIncludePad: true), seed: UInt64(index))
    }

    @Test(arguments: [7, 8, 9, 15, 16, 17, 31, 32, 33])
    func matchesReferenceAcrossWidthsAroundVectorSizes(width: Int) throws {
        for test in [Case(spatial: [3, width], kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1]),
                     Case(spatial: [width, 5], kernel: [2, 2], strides: [2, 2], ceilMode: true)] {
            try Self.check(test, mode: .maximum, seed: 1)
            try Self.check(test, mode: .average(countIncludePad: true), seed: 2)
        }
    }

    // Stride 2 along the last axis splits each row into even and odd positions first; every width up
    // to 33 covers the split's odd tail, both parities of the left padding, and ceil-mode windows
    // that run past the end (SqueezeNet's MaxPools are 3x3 stride 2 with ceil_mode).
    @Test(arguments: Array(1...33))
    func matchesReferenceWithStrideTwoAcrossWidths(width: Int) throws {
        let cases = [
            Case(spatial: [7, width], kernel: [3, 3], strides: [2, 2], ceilMode: true),
            Case(spatial: [6, width], kernel: [3, 3], strides: [2, 2]),
            Case(spatial: [5, width], kernel: [2, 2], strides: [2, 2], ceilMode: true),
            Case(spatial: [4, width], kernel: [2, 2], strides: [2, 2]),
            Case(spatial: [5, width], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1]),
            Case(spatial: [5, width], kernel: [3, 3], strides: [2, 2], pads: [0, 1, 1, 2], ceilMode: true),
            Case(spatial: [width], kernel: [4], strides: [2], dilations: [2], pads: [3, 2], ceilMode: true),
        ]
        for (index, test) in cases.enumerated() {
            let padded = width + (test.pads.map { $0[test.kernel.count - 1] + $0[2 * test.kernel.count - 1] } ?? 0)
            let extent = (test.kernel.last! - 1) * (test.dilations?.last ?? 1) + 1
            guard padded >= extent else { continue }
            try Self.check(test, mode: .maximum, seed: UInt64(width * 10 + index))
            try Self.check(test, mode: .average(countIncludePad: index % 2 == 0), seed: UInt64(width * 10 + index))
        }
    }

    // Small examples worked out by hand (and matching the ONNX backend tests' *_ceil cases).
    static let ramp = T.tensor([1, 1, 4, 4], (1...16).map(Float.init))

    @Test func ceilModeAddsPartialWindows() throws {
        let attributes: [String: Attribute] = ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 2]), "ceil_mode": .int(1)]
        let maximum = try T.run(MaxPool.self, [Self.ramp], attributes: attributes)[0]
        #expect(maximum.shape == [1, 1, 2, 2])
        #expect(try maximum.scalars(as: Float.self) == [11, 12, 15, 16])
        // Windows {1,2,3,5,6,7,9,10,11}, {3,4,7,8,11,12}, {9,10,11,13,14,15}, {11,12,15,16}.
        let average = try T.run(AveragePool.self, [Self.ramp], attributes: attributes)[0]
        #expect(try average.scalars(as: Float.self) == [6, 7.5, 12, 13.5])
        let floor = try T.run(MaxPool.self, [Self.ramp], attributes: ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 2])])[0]
        #expect(try floor.scalars(as: Float.self) == [11])
    }

    @Test func countIncludePadChangesTheDivisor() throws {
        // Windows over [pad, 1, 2, 3, pad] of width 2: {1}, {1,2}, {2,3}, {3}.
        let x = T.tensor([1, 1, 3], [1, 2, 3])
        let attributes: [String: Attribute] = ["kernel_shape": .ints([2]), "pads": .ints([1, 1])]
        let excluded = try T.run(AveragePool.self, [x], attributes: attributes)[0]
        #expect(try excluded.scalars(as: Float.self) == [1, 1.5, 2.5, 3])
        var including = attributes
        including["count_include_pad"] = .int(1)
        #expect(try T.run(AveragePool.self, [x], attributes: including)[0].scalars(as: Float.self) == [0.5, 1.5, 2.5, 1.5])
        #expect(try T.run(MaxPool.self, [T.tensor([1, 1, 3], [-1, -2, -3])], attributes: attributes)[0]
            .scalars(as: Float.self) == [-1, -1, -2, -3])
    }

    @Test func lastWindowStartingInEndPaddingIsDropped() throws {
        // Input 4, kernel 2, stride 2, pads (0, 1), ceil: ceil((4 + 1 - 2) / 2) + 1 = 3 windows start at 0, 2, 4;
        // the one at 4 starts in the padding and is dropped.
        let y = try T.run(MaxPool.self, [T.tensor([1, 1, 4], [1, 2, 3, 4])],
                          attributes: ["kernel_shape": .ints([2]), "strides": .ints([2]), "pads": .ints([0, 1]), "ceil_mode": .int(1)])[0]
        #expect(y.shape == [1, 1, 2])
        #expect(try y.scalars(as: Float.self) == [2, 4])
    }

    @Test func globalPoolsReduceEachPlane() throws {
        let x = T.random([2, 3, 5, 7], seed: 9)
        let values = try x.scalars(as: Float.self)
        let planes = (0..<6).map { Array(values[($0 * 35)..<($0 * 35 + 35)]) }
        let average = try T.run(GlobalAveragePool.self, [x])[0]
        #expect(average.shape == [2, 3, 1, 1])
        T.expectClose(average, T.tensor([2, 3, 1, 1], planes.map { Float($0.reduce(0.0) { $0 + Double($1) } / 35) }))
        let maximum = try T.run(GlobalMaxPool.self, [x])[0]
        #expect(try maximum.scalars(as: Float.self) == planes.map { $0.max()! })
        let wide = T.random([1, 2, 33], seed: 3)
        let wideValues = try wide.scalars(as: Float.self)
        #expect(try T.run(GlobalMaxPool.self, [wide])[0].scalars(as: Float.self) == [wideValues[0..<33].max()!, wideValues[33...].max()!])
        #expect(try T.run(GlobalAveragePool.self, [T.random([0, 3, 4, 4], seed: 1)])[0].shape == [0, 3, 1, 1])
        let symbolic = try T.infer(GlobalAveragePool.self, [TensorType(.float32, ["batch", 2048, 7, 7])])
        #expect(symbolic[0] == TensorType(.float32, ["batch", 2048, 1, 1]))
    }

    @Test func infersSymbolicShapes() throws {
        let resnet = try T.infer(MaxPool.self, [TensorType(.float32, ["batch", 64, 112, 112])],
                                 attributes: ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])])
        #expect(resnet[0] == TensorType(.float32, ["batch", 64, 56, 56]))
        let same = try T.infer(AveragePool.self, [TensorType(.float32, ["n", "c", "h", "w"])],
                               attributes: ["kernel_shape": .ints([3, 3]), "auto_pad": .string("SAME_UPPER")])
        #expect(same[0] == TensorType(.float32, ["n", "c", "h", "w"]))
    }

    @Test func handlesZeroSizedInputs() throws {
        #expect(try T.run(MaxPool.self, [T.random([0, 2, 4, 4], seed: 1)], attributes: ["kernel_shape": .ints([2, 2])])[0].shape == [0, 2, 3, 3])
        #expect(try T.run(AveragePool.self, [T.random([1, 0, 4, 4], seed: 1)], attributes: ["kernel_shape": .ints([2, 2])])[0].shape == [1, 0, 3, 3])
    }

    @Test func rejectsBadAttributesAndShapes() throws {
        let x = T.random([1, 1, 5, 5], seed: 1)
        #expect(throws: OperatorError.self, "kernel_shape is required") { try T.run(MaxPool.self, [x]) }
        #expect(throws: OperatorError.self, "kernel rank differs from input") {
            try T.run(MaxPool.self, [x], attributes: ["kernel_shape": .ints([3])])
        }
        #expect(throws: OperatorError.self, "pad as large as the kernel") {
            try T.run(AveragePool.self, [x], attributes: ["kernel_shape": .ints([2, 2]), "pads": .ints([2, 0, 0, 0])])
        }
        #expect(throws: OperatorError.self, "Indices output") {
            try T.run(MaxPool.self, [x], attributes: ["kernel_shape": .ints([2, 2])], outputCount: 2)
        }
        #expect(throws: OperatorError.self, "window larger than the input") {
            try T.run(MaxPool.self, [x], attributes: ["kernel_shape": .ints([6, 6])])
        }
        #expect(throws: OperatorError.self, "int64 input") {
            try T.run(MaxPool.self, [try Tensor(shape: [1, 1, 2, 2], scalars: [1, 2, 3, 4] as [Int64])],
                      attributes: ["kernel_shape": .ints([2, 2])])
        }
    }

    /// The 16-lane groups of the 3-wide stride-2 row maximum that AVX-512 builds run (a baseline
    /// build never takes them through MaxPool): against the window maximum computed directly, with
    /// NaNs in every tap (skipped, as on the scalar path) and ties, the 4-lane groups alike, and the column where each stops.
    @Test(arguments: [4, 16])
    func strideTwoRowMaximumGroups(lanes: Int) {
        for (width, padLeft) in [(111, 0), (55, 1), (40, 0), (36, 1)] {
            // The caller's row buffer has one float past the row.
            var row = (0..<width + 1).map { Float(($0 * 37) % 11) - 5 }
            for index in [10, 11, 12, width / 3] { row[index] = .nan }
            let outputWidth = (width + padLeft - 3) / 2 + 1
            let first = padLeft == 0 ? 0 : 1
            var output = [Float](repeating: .infinity, count: outputWidth)
            let stopped = row.withUnsafeBufferPointer { row in
                output.withUnsafeMutableBufferPointer { output in
                    lanes == 16
                        ? PoolingKernels.maximum3Stride2Groups(row.baseAddress!, padLeft: padLeft, from: first,
                                                               to: outputWidth, into: output.baseAddress!, as: SIMD16<Float>.self)
                        : PoolingKernels.maximum3Stride2Groups(row.baseAddress!, padLeft: padLeft, from: first,
                                                               to: outputWidth, into: output.baseAddress!, as: SIMD4<Float>.self)
                }
            }
            #expect(stopped == first + (outputWidth - first) / lanes * lanes, "width \(width)")
            for column in first..<stopped {
                var maximum = -Float.infinity
                for tap in 0..<3 {
                    let value = row[2 * column - padLeft + tap]
                    if value > maximum { maximum = value }
                }
                #expect(output[column] == maximum, "width \(width) column \(column)")
            }
            #expect(output[stopped...].allSatisfy { $0 == .infinity }, "width \(width): wrote past the groups")
        }
    }
}
