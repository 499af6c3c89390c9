import Kiln
import KilnTestSupport
import Testing

/// The tiled im2col + sgemm path (ConvolutionGEMM) against the textbook reference, with tile widths
/// forced small so tiles split output rows at odd places, and the tile-restricted im2col against the
/// whole-plane im2col.
@Suite struct ConvolutionGEMMTests {
    typealias T = NeuralNetworkTesting
    typealias Case = ConvTests.Case

    static func geometry(_ test: Case) throws -> SlidingWindowGeometry {
        let node = Node(name: "conv", opType: "Conv", inputs: [], outputs: [], attributes: test.attributes)
        return try SlidingWindowAttributes(node: node).forwardGeometry(inputSize: test.spatial, kernel: test.kernel,
                                                                       ceilMode: false)
    }

    static func check(_ test: Case, activation: FusedActivation?, tileWidth: Int?, threads: Int, seed: UInt64,
                      residual: Bool = false) throws {
        let geometry = try geometry(test)
        let x = T.random([test.batch, test.channels] + test.spatial, seed: seed)
        let w = T.random([test.outputChannels, test.channels / test.group] + test.kernel, seed: seed + 1)
        let b = T.random([test.outputChannels], seed: seed + 2)
        let shape = [test.batch, test.outputChannels] + geometry.outputSize
        let z = T.random(shape, seed: seed + 3)
        // Inputs are x, w, z, then b when the case has a bias.
        let inputs = [x, w, z] + (test.bias ? [b] : [])
        let expected = T.reference(shape, inputs) { pointers, output in
            ConvolutionKernels.reference(input: pointers[0], weights: pointers[1], bias: test.bias ? pointers[3] : nil,
                                         output: output, batch: test.batch, inputChannels: test.channels,
                                         outputChannels: test.outputChannels, groups: test.group, geometry: geometry)
            if residual {
                for index in 0..<shape.reduce(1, *) { output[index] += pointers[2][index] }
            }
            if let activation {
                for index in 0..<shape.reduce(1, *) { output[index] = activation.reference(output[index]) }
            }
        }
        let actual = T.reference(shape, inputs) { pointers, output in
            do {
                try ConvolutionGEMM.convolve(pointers[0], pointers[1], test.bias ? pointers[3] : nil, output,
                                             batch: test.batch, channels: test.channels,
                                             outputChannels: test.outputChannels, groups: test.group,
                                             geometry: geometry, residual: residual ? pointers[2] : nil, activation: activation,
                                             context: ExecutionContext(threads: threads), tileWidth: tileWidth)
            } catch {
                Issue.record("\(error)")
            }
        }
        T.expectClose(actual, expected, rtol: 1e-4, atol: 1e-4, "\(test) tile \(tileWidth ?? 0) threads \(threads)")
    }

    static let cases: [Case] = [
        Case(batch: 2, channels: 3, outputChannels: 8, spatial: [15, 16], kernel: [3, 3], pads: [1, 1, 1, 1]),
        Case(channels: 5, outputChannels: 7, spatial: [17, 17], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1]),
        Case(channels: 3, outputChannels: 4, spatial: [33, 31], kernel: [7, 7], strides: [2, 2], pads: [3, 3, 3, 3]),
        // Stride 2 across the width only, odd and even left pads and widths (the even/odd row split).
        Case(channels: 2, outputChannels: 3, spatial: [10, 13], kernel: [4, 4], strides: [2, 2], pads: [0, 2, 1, 0]),
        Case(channels: 3, outputChannels: 2, spatial: [7, 12], kernel: [5, 2], strides: [1, 2], pads: [2, 1, 2, 0]),
        Case(channels: 2, outputChannels: 3, spatial: [9, 8], kernel: [3, 2], dilations: [2, 3], pads: [1, 0, 2, 1]),
        Case(channels: 4, outputChannels: 6, group: 2, spatial: [8, 9], kernel: [3, 3], pads: [1, 1, 1, 1], bias: false),
        // Stride 1 with the output as wide as the input (one shifted run per tap): dilation, uneven
        // pads, taps reading whole rows or columns of padding, rows above and below the plane.
        Case(channels: 2, outputChannels: 3, spatial: [6, 7], kernel: [3, 5], dilations: [2, 1], pads: [2, 1, 2, 3]),
        Case(channels: 3, outputChannels: 2, spatial: [5, 7], kernel: [3, 3], dilations: [1, 2], pads: [0, 2, 2, 2]),
        Case(channels: 2, outputChannels: 2, spatial: [3, 2], kernel: [5, 5], pads: [2, 2, 2, 2]),
        Case(channels: 5, outputChannels: 4, spatial: [9, 9], kernel: [1, 1], strides: [2, 2]),
        Case(batch: 2, channels: 17, outputChannels: 33, spatial: [7, 9], kernel: [1, 1]),
        Case(channels: 8, outputChannels: 4, group: 2, spatial: [3, 5], kernel: [1, 1], bias: false),
        Case(channels: 1, outputChannels: 1, spatial: [1, 32], kernel: [1, 5], strides: [1, 3], pads: [0, 4, 0, 4]),
        Case(channels: 2, outputChannels: 2, spatial: [1, 1], kernel: [1, 1], strides: [2, 2], pads: [0, 0, 1, 1]),
        Case(channels: 2, outputChannels: 3, spatial: [5, 6, 7], kernel: [3, 2, 3], strides: [1, 2, 1], pads: [1, 0, 1, 1, 1, 0]),
        Case(batch: 2, channels: 3, outputChannels: 5, spatial: [31], kernel: [5], strides: [2], pads: [2, 2]),
    ]

    @Test(arguments: cases.indices)
    func matchesReferenceWithForcedTileWidths(index: Int) throws {
        let test = Self.cases[index]
        for (trial, tile) in [Int?.none, 1, 5, 7, 16, 17, 1_000].enumerated() {
            try Self.check(test, activation: nil, tileWidth: tile, threads: 2, seed: UInt64(index * 100 + trial))
            try Self.check(test, activation: .clip(low: 0, high: 6), tileWidth: tile, threads: 1,
                           seed: UInt64(index * 100 + trial + 50))
        }
    }

    @Test func splitsLargeOutputsAcrossTilesAndOutputChannelsAcrossThreads() throws {
        // 40x40 outputs take the tiled path on its own; 7x7 ones split output channels.
        try Self.check(Case(channels: 16, outputChannels: 40, spatial: [40, 40], kernel: [3, 3], pads: [1, 1, 1, 1]),
                       activation: .relu, tileWidth: nil, threads: 2, seed: 7)
        try Self.check(Case(channels: 16, outputChannels: 40, spatial: [40, 40], kernel: [1, 1]),
                       activation: .relu, tileWidth: nil, threads: 2, seed: 8)
        try Self.check(Case(channels: 64, outputChannels: 50, spatial: [7, 7], kernel: [3, 3], pads: [1, 1, 1, 1]),
                       activation: nil, tileWidth: nil, threads: 2, seed: 9)
        try Self.check(Case(channels: 64, outputChannels: 50, spatial: [7, 7], kernel: [1, 1]),
                       activation: nil, tileWidth: nil, threads: 2, seed: 10)
    }

    /// Bias, residual and activation on both sides of OpenBLAS's unpacked-kernel limit (10^6
    /// multiply-adds per block): below it sgemm writes the bare product and one pass adds the rest;
    /// above it sgemm starts from `bias + residual`. `large` and `im2col` take the packed path at 1
    /// thread and the unpacked one at 2 (the output channels split into blocks under the limit);
    /// `rowBlocks` (7x7, 700 input channels) splits its 100 output channels into 7 blocks of 14-15.
    @Test func addsBiasResidualAndActivationOnEitherBLASPath() throws {
        let small = Case(channels: 16, outputChannels: 24, spatial: [20, 20], kernel: [1, 1])
        let large = Case(channels: 256, outputChannels: 160, spatial: [8, 8], kernel: [1, 1])
        let im2col = Case(channels: 24, outputChannels: 160, spatial: [6, 6], kernel: [3, 3], pads: [1, 1, 1, 1])
        let rowBlocks = Case(channels: 700, outputChannels: 100, spatial: [7, 7], kernel: [1, 1])
        var noBias = small
        noBias.bias = false
        for (index, test) in [small, large, im2col, noBias, rowBlocks].enumerated() {
            for (offset, activation) in [FusedActivation?.none, .relu, .sigmoid].enumerated() {
                for threads in [1, 2] {
                    try Self.check(test, activation: activation, tileWidth: nil, threads: threads,
                                   seed: UInt64(1_000 + index * 10 + offset), residual: true)
                    try Self.check(test, activation: activation, tileWidth: nil, threads: threads,
                                   seed: UInt64(2_000 + index * 10 + offset))
                }
            }
        }
    }

    /// At 64 output positions or fewer the threads split the depth of the product: each lowers and
    /// multiplies its own input channels into partial sums, then the sums are added per output
    /// channel with bias and residual. Depths of several unpacked-kernel chunks (300 channels x 9
    /// taps at 7x7), uneven parts (3 threads), groups, two images, and every epilogue.
    @Test(arguments: [2, 3])
    func splitsTheDepthAcrossThreadsAtFewPositions(threads: Int) throws {
        let deep = Case(channels: 300, outputChannels: 40, spatial: [7, 7], kernel: [3, 3], pads: [1, 1, 1, 1])
        let strided = Case(batch: 2, channels: 13, outputChannels: 21, spatial: [11, 12], kernel: [3, 3],
                           strides: [2, 2], pads: [1, 0, 1, 1])
        let grouped = Case(channels: 12, outputChannels: 9, group: 3, spatial: [5, 6], kernel: [3, 2], bias: false)
        for (index, test) in [deep, strided, grouped].enumerated() {
            #expect(try Self.geometry(test).outputVolume <= 64)
            for (offset, activation) in [FusedActivation?.none, .relu, .sigmoid].enumerated() {
                try Self.check(test, activation: activation, tileWidth: nil, threads: threads,
                               seed: UInt64(3_000 + index * 10 + offset), residual: offset != 1)
            }
        }
    }

    @Test(arguments: [1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33])
    func tileRestrictedIm2colMatchesWholePlaneIm2col(tile: Int) throws {
        for (index, test) in Self.cases.enumerated() where test.spatial.count == 2 {
            let geometry = try Self.geometry(test)
            let channels = test.channels / test.group
            let x = T.random([channels] + test.spatial, seed: UInt64(index))
            let rows = channels * geometry.kernelVolume, positions = geometry.outputVolume
            let whole = UnsafeMutablePointer<Float>.allocate(capacity: max(1, rows * positions))
            defer { whole.deallocate() }
            let part = UnsafeMutablePointer<Float>.allocate(capacity: max(1, rows * tile))
            defer { part.deallocate() }
            try x.withUnsafePointer(as: Float.self) { input in
                ConvolutionKernels.im2col(input, geometry: geometry, rows: 0..<rows, into: whole)
                for start in stride(from: 0, to: positions, by: tile) {
                    let end = min(positions, start + tile)
                    part.update(repeating: .nan, count: rows * tile)
                    ConvolutionKernels.im2col2D(input, channels: channels, geometry: geometry, positions: start..<end,
                                                into: part, leadingDimension: end - start)
                    var mismatches = 0
                    for row in 0..<rows {
                        for column in start..<end where part[row * (end - start) + column - start] != whole[row * positions + column] {
                            mismatches += 1
                        }
                    }
                    #expect(mismatches == 0, "\(test) positions \(start)..<\(end)")
                }
            }
        }
    }
}
