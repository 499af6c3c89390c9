import Kiln
import KilnTestSupport
import Testing

/// ``WinogradChannelsLast`` called directly (a baseline build never selects it) against the NCHW
/// reference permuted to channels-last, through ``DirectConvolutionTests/check``.
@Suite struct WinogradChannelsLastTests {
    typealias T = NeuralNetworkTesting
    typealias Case = ChannelsLastTests.Case

    /// Partial tiles at the right and bottom edges, asymmetric and no padding, one band split into
    /// panel groups (few tiles, three panels), several bands (many tiles), a batch whose tiles
    /// share a band across images, a single tile, residual and non-clamp activations.
    static let cases: [Case] = [
        Case(channels: 16, outputChannels: 64, spatial: [9, 11]),
        Case(batch: 2, channels: 32, outputChannels: 128, spatial: [6, 5], pads: [0, 1, 2, 0], activation: .relu),
        Case(channels: 32, outputChannels: 192, spatial: [10, 11], residual: true, activation: .relu),
        Case(batch: 2, channels: 16, outputChannels: 64, spatial: [22, 17], bias: false, residual: true,
             activation: .sigmoid),
        Case(channels: 16, outputChannels: 128, spatial: [1, 1], activation: .gelu),
        Case(channels: 32, outputChannels: 64, spatial: [3, 40], pads: [0, 0, 0, 0],
             activation: .clip(low: -0.5, high: 0.5)),
    ]

    static let tiles: [WinogradChannelsLast.Tile] = [.f4x4, .f2x2]

    /// The kernel with `tile`, W transformed from ONNX's layout.
    static func winograd(_ tile: WinogradChannelsLast.Tile) -> (Case, DirectConvolutionTests.KernelCall) throws -> Void {
        { test, call in
            var u = [Float](repeating: .nan, count: WinogradChannelsLast.transformedWeightFloats(
                tile: tile, channels: test.channels, outputChannels: test.outputChannels))
            WinogradChannelsLast.transformWeights(call.weights, directLayout: false, tile: tile, channels: test.channels,
                                                  outputChannels: test.outputChannels, into: &u, context: call.context)
            try WinogradChannelsLast.convolve(call.input, u: u, tile: tile, bias: call.bias, residual: call.residual,
                                              output: call.output, outputStride: call.outputStride, batch: test.batch,
                                              channels: test.channels, outputChannels: test.outputChannels,
                                              geometry: call.geometry, activation: test.activation, context: call.context)
        }
    }

    @Test(arguments: cases, tiles)
    func matchesReference(test: Case, tile: WinogradChannelsLast.Tile) throws {
        for threads in [1, 2] {
            try DirectConvolutionTests.check(test, seed: 40, threads: threads, kernel: Self.winograd(tile))
        }
    }

    /// Written into the middle 64 channels of a wider output (one branch of a joined convolution).
    @Test(arguments: tiles)
    func writesIntoAWiderOutput(tile: WinogradChannelsLast.Tile) throws {
        try DirectConvolutionTests.check(Case(batch: 2, channels: 16, outputChannels: 64, spatial: [7, 8], activation: .relu),
                                         seed: 41, threads: 2, outputStride: 192, channelOffset: 64,
                                         kernel: Self.winograd(tile))
    }

    /// A file converted for the direct kernel stores W in its order; the transform reads that
    /// layout to the same values as ONNX's.
    @Test(arguments: tiles)
    func transformsWeightsFromEitherLayout(tile: WinogradChannelsLast.Tile) throws {
        let (outputChannels, channels) = (128, 32)
        let weights = try T.random([outputChannels, channels, 3, 3], seed: 42).scalars(as: Float.self)
        var packed = [Float](repeating: .nan, count: weights.count)
        DirectConvolutionChannelsLast.packWeights(weights, outputChannels: outputChannels, channels: channels,
                                                  kernelVolume: 9, into: &packed)
        let count = WinogradChannelsLast.transformedWeightFloats(tile: tile, channels: channels,
                                                                 outputChannels: outputChannels)
        var fromONNX = [Float](repeating: .nan, count: count), fromPacked = [Float](repeating: -.nan, count: count)
        let context = ExecutionContext(threads: 2)
        WinogradChannelsLast.transformWeights(weights, directLayout: false, tile: tile, channels: channels,
                                              outputChannels: outputChannels, into: &fromONNX, context: context)
        WinogradChannelsLast.transformWeights(packed, directLayout: true, tile: tile, channels: channels,
                                              outputChannels: outputChannels, into: &fromPacked, context: context)
        #expect(fromONNX == fromPacked)
        #expect(!fromONNX.contains { $0.isNaN })
    }

    @Test func unsupportedShapesAreATypedError() throws {
        let geometry = SlidingWindowGeometry(inputSize: [8, 8], outputSize: [4, 4], kernel: [3, 3], strides: [2, 2],
                                             dilations: [1, 1], padsBegin: [1, 1], padsEnd: [1, 1])
        #expect(!WinogradChannelsLast.supports(channels: 16, outputChannels: 64, geometry: geometry))
        let stride1 = SlidingWindowGeometry(inputSize: [4, 4], outputSize: [4, 4], kernel: [3, 3], strides: [1, 1],
                                            dilations: [1, 1], padsBegin: [1, 1], padsEnd: [1, 1])
        #expect(!WinogradChannelsLast.supports(channels: 12, outputChannels: 64, geometry: stride1))
        #expect(!WinogradChannelsLast.supports(channels: 16, outputChannels: 48, geometry: stride1))
        let x = [Float](repeating: 1, count: 64 * 16), u = [Float](repeating: 1, count: 36 * 16 * 64)
        var y = [Float](repeating: 0, count: 16 * 64)
        #expect(throws: OperatorError.self) {
            try WinogradChannelsLast.convolve(x, u: u, tile: .f4x4, bias: nil, residual: nil, output: &y, outputStride: 64, batch: 1,
                                              channels: 16, outputChannels: 64, geometry: geometry, activation: nil,
                                              context: ExecutionContext(threads: 1))
        }
    }
}
