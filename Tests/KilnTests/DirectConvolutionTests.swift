import Kiln
import KilnTestSupport
import Testing

/// ``DirectConvolutionChannelsLast`` called directly (a baseline build never selects it, so `Conv`
/// alone would not run it here) against the textbook NCHW reference permuted to channels-last.
@Suite struct DirectConvolutionTests {
    typealias T = NeuralNetworkTesting
    typealias Case = ChannelsLastTests.Case

    /// Both strides (phase planes; one of four for a 1x1 stride-2 kernel), asymmetric and no
    /// padding, a 5x5 and a 1x1 kernel (read in place when unpadded), NCHW input, widths below one
    /// block, residual and non-clamp activations, and inputs of few channels (merged columns).
    static let cases: [Case] = [
        Case(channels: 16, outputChannels: 64, spatial: [9, 11]),
        Case(batch: 2, channels: 8, outputChannels: 128, spatial: [6, 5], pads: [0, 1, 2, 0], activation: .relu),
        Case(channels: 3, outputChannels: 64, spatial: [15, 16], strides: [2, 2], pads: [0, 0, 0, 0],
             activation: .clip(low: -0.5, high: 0.5), inputChannelsLast: false),
        Case(batch: 2, channels: 5, outputChannels: 64, spatial: [12, 13], kernel: [5, 5], strides: [2, 1],
             pads: [2, 1, 1, 2], bias: false, residual: true, activation: .sigmoid),
        Case(batch: 3, channels: 24, outputChannels: 192, spatial: [4, 3], kernel: [1, 1], pads: [0, 0, 0, 0],
             residual: true, activation: .relu),
        Case(channels: 7, outputChannels: 64, spatial: [2, 2], kernel: [1, 1], pads: [0, 0, 0, 0]),
        Case(batch: 2, channels: 64, outputChannels: 128, spatial: [7, 9], kernel: [1, 1], strides: [2, 2],
             pads: [0, 0, 0, 0], residual: true, activation: .relu),
        Case(channels: 9, outputChannels: 64, spatial: [1, 1], kernel: [3, 3], pads: [1, 1, 1, 1], activation: .gelu),
        // A narrower last group: 100 = 64 + 36 (3x3, residual, clamp) and 1000 = 15 x 64 + 40 (1x1).
        Case(batch: 2, channels: 16, outputChannels: 100, spatial: [5, 7], residual: true,
             activation: .clip(low: -0.5, high: 0.5)),
        Case(channels: 64, outputChannels: 1000, spatial: [3, 3], kernel: [1, 1], pads: [0, 0, 0, 0], activation: .relu),
        Case(channels: 8, outputChannels: 72, spatial: [4, 5], bias: false, activation: .sigmoid),
        // Fewer than 8 channels: kernel rows read as one run (merged columns), ResNet's 7x7 stride-2
        // stem from NCHW, and channels-last inputs with one and four channels.
        Case(batch: 2, channels: 3, outputChannels: 128, spatial: [23, 22], kernel: [7, 7], strides: [2, 2],
             pads: [3, 3, 3, 3], activation: .relu, inputChannelsLast: false),
        Case(channels: 1, outputChannels: 64, spatial: [9, 10], pads: [1, 1, 1, 1], residual: true),
        Case(batch: 2, channels: 4, outputChannels: 64, spatial: [10, 11], strides: [2, 2], pads: [1, 0, 0, 1],
             activation: .clip(low: 0, high: 6)),
    ]

    @Test(arguments: cases)
    func matchesReference(test: Case) throws {
        for threads in [1, 2] { try Self.check(test, seed: 70, threads: threads) }
    }

    /// Written into every other block of 64 channels of a wider output (as into a concatenation),
    /// leaving the channels between untouched.
    @Test func writesIntoAWiderOutput() throws {
        try Self.check(Case(batch: 2, channels: 16, outputChannels: 64, spatial: [7, 8], activation: .relu),
                       seed: 90, threads: 2, outputStride: 192, channelOffset: 64)
    }

    /// The last group written into its channels of a wider output, leaving the rest untouched.
    @Test func writesANarrowerLastGroupIntoAWiderOutput() throws {
        try Self.check(Case(batch: 2, channels: 16, outputChannels: 80, spatial: [7, 8], residual: true, activation: .relu),
                       seed: 91, threads: 2, outputStride: 192, channelOffset: 32)
    }

    /// A file packed by an AVX-512 build, read by one without the kernel: W unpacks to ONNX's layout
    /// (with a narrower last group too).
    @Test(arguments: [128, 100])
    func unpackingInvertsPacking(outputChannels: Int) throws {
        let (channels, kernelVolume) = (5, 9)
        let weights = try T.random([outputChannels, channels, 3, 3], seed: 5).scalars(as: Float.self)
        var packed = [Float](repeating: .nan, count: weights.count)
        DirectConvolutionChannelsLast.packWeights(weights, outputChannels: outputChannels, channels: channels,
                                                  kernelVolume: kernelVolume, into: &packed)
        var unpacked = [Float](repeating: .nan, count: weights.count)
        DirectConvolutionChannelsLast.unpackWeights(packed, outputChannels: outputChannels, channels: channels,
                                                    kernelVolume: kernelVolume, into: &unpacked)
        #expect(unpacked == weights)
        #expect(packed != weights)
    }

    @Test func unsupportedShapesAreATypedError() throws {
        // Fewer than one group of output channels is left to other kernels; dilation is not supported.
        #expect(!DirectConvolutionChannelsLast.suits(channels: 4, outputChannels: 48, kernel: [3, 3], dilations: [1, 1]))
        // An image stem takes it when its output channels are whole groups and a kernel row holds
        // at least 8 values.
        #expect(DirectConvolutionChannelsLast.suits(channels: 3, outputChannels: 64, kernel: [7, 7], dilations: [1, 1]))
        #expect(DirectConvolutionChannelsLast.suits(channels: 3, outputChannels: 64, kernel: [3, 3], dilations: [1, 1]))
        #expect(!DirectConvolutionChannelsLast.suits(channels: 3, outputChannels: 32, kernel: [3, 3], dilations: [1, 1]))
        #expect(!DirectConvolutionChannelsLast.suits(channels: 1, outputChannels: 64, kernel: [3, 3], dilations: [1, 1]))
        let dilated = SlidingWindowGeometry(inputSize: [6, 6], outputSize: [2, 2], kernel: [3, 3], strides: [1, 1],
                                            dilations: [2, 2], padsBegin: [0, 0], padsEnd: [0, 0])
        #expect(!DirectConvolutionChannelsLast.supports(outputChannels: 64, geometry: dilated))
        let x = [Float](repeating: 1, count: 36 * 4), w = [Float](repeating: 1, count: 64 * 4 * 9)
        var y = [Float](repeating: 0, count: 4 * 64)
        #expect(throws: OperatorError.self) {
            try DirectConvolutionChannelsLast.convolve(x, inputChannelsLast: true, weights: w, bias: nil, residual: nil,
                                                       output: &y, batch: 1, channels: 4, outputChannels: 64,
                                                       geometry: dilated, activation: nil,
                                                       context: ExecutionContext(threads: 1))
        }
    }

    /// What a channels-last kernel under test is given: the input in the case's layout, W, B and
    /// the residual (ONNX layout, channels-last), the output and its position stride.
    struct KernelCall {
        let input: [Float], weights: [Float], bias: [Float]?, residual: [Float]?
        let output: UnsafeMutablePointer<Float>, outputStride: Int
        let geometry: SlidingWindowGeometry
        let context: ExecutionContext
    }

    /// The direct kernel, W packed for it.
    static func direct(_ test: Case, _ call: KernelCall) throws {
        var packed = [Float](repeating: .nan, count: call.weights.count)
        DirectConvolutionChannelsLast.packWeights(call.weights, outputChannels: test.outputChannels, channels: test.channels,
                                                  kernelVolume: call.geometry.kernelVolume, into: &packed)
        try DirectConvolutionChannelsLast.convolve(
            call.input, inputChannelsLast: test.inputChannelsLast, weights: packed, bias: call.bias,
            residual: call.residual, output: call.output, outputStride: call.outputStride, batch: test.batch,
            channels: test.channels, outputChannels: test.outputChannels, geometry: call.geometry,
            activation: test.activation, context: call.context)
    }

    /// Runs `kernel` (the direct one by default) on `test` and compares its output with the NCHW
    /// reference permuted to channels-last, written at `channelOffset` of positions `outputStride` apart.
    static func check(_ test: Case, seed: UInt64, threads: Int, outputStride: Int? = nil, channelOffset: Int = 0,
                      kernel: (Case, KernelCall) throws -> Void = direct) throws {
        let x = T.random([test.batch, test.channels] + test.spatial, seed: seed)
        let w = T.random([test.outputChannels, test.channels] + test.kernel, seed: seed + 1)
        let b = T.random([test.outputChannels], seed: seed + 2)
        let node = Node(name: "conv", opType: "Conv", inputs: [], outputs: [],
                        attributes: ["strides": .ints(test.strides), "pads": .ints(test.pads)])
        let geometry = try SlidingWindowAttributes(node: node).forwardGeometry(inputSize: test.spatial, kernel: test.kernel,
                                                                              ceilMode: false)
        let outputShape = [test.batch, test.outputChannels] + geometry.outputSize
        let z = T.random(outputShape, seed: seed + 3)
        let expected = try ChannelsLastTests.permuted(T.reference(outputShape, [x, w, b, z]) { pointers, output in
            ConvolutionKernels.reference(input: pointers[0], weights: pointers[1], bias: test.bias ? pointers[2] : nil,
                                         output: output, batch: test.batch, inputChannels: test.channels,
                                         outputChannels: test.outputChannels, groups: 1, geometry: geometry)
            for index in 0..<outputShape.reduce(1, *) {
                let sum = output[index] + (test.residual ? pointers[3][index] : 0)
                output[index] = test.activation?.reference(sum) ?? sum
            }
        }, toChannelsLast: true).scalars(as: Float.self)

        let input = try (test.inputChannelsLast ? ChannelsLastTests.permuted(x, toChannelsLast: true) : x)
            .scalars(as: Float.self)
        let weights = try w.scalars(as: Float.self), bias = try b.scalars(as: Float.self)
        let residual = try ChannelsLastTests.permuted(z, toChannelsLast: true).scalars(as: Float.self)
        let stride = outputStride ?? test.outputChannels
        let positions = test.batch * geometry.outputVolume
        var y = [Float](repeating: -7, count: positions * stride)
        try y.withUnsafeMutableBufferPointer { y in
            try kernel(test, KernelCall(input: input, weights: weights, bias: test.bias ? bias : nil,
                                        residual: test.residual ? residual : nil, output: y.baseAddress! + channelOffset,
                                        outputStride: stride, geometry: geometry, context: ExecutionContext(threads: threads)))
        }
        var worst: Float = 0, untouched = true
        for position in 0..<positions {
            for channel in 0..<stride {
                let value = y[position * stride + channel]
                let written = channel - channelOffset
                guard written >= 0, written < test.outputChannels else {
                    untouched = untouched && value == -7
                    continue
                }
                let want = expected[position * test.outputChannels + written]
                worst = max(worst, abs(value - want) / (1e-4 + 1e-4 * abs(want)))
                if value.isNaN { worst = .infinity }
            }
        }
        #expect(worst <= 1, "\(test) threads \(threads): worst error \(worst) tolerances")
        #expect(untouched, "\(test): wrote outside its channels")
    }
}
