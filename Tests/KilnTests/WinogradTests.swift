import Kiln
import KilnTestSupport
import Testing

/// Winograd F(2x2, 3x3) against the textbook reference convolution.
@Suite struct WinogradTests {
    typealias T = NeuralNetworkTesting

    struct Shape: CustomStringConvertible, Sendable {
        var batch = 1, channels = 8, outputChannels = 8
        var height = 7, width = 7
        var pads = [1, 1, 1, 1]
        var bias = true
        var description: String { "N\(batch) C\(channels) M\(outputChannels) \(height)x\(width) p\(pads) bias=\(bias)" }
    }

    static func geometry(_ shape: Shape) throws -> SlidingWindowGeometry {
        let node = Node(name: "conv", opType: "Conv", inputs: [], outputs: [], attributes: ["pads": .ints(shape.pads)])
        return try SlidingWindowAttributes(node: node).forwardGeometry(inputSize: [shape.height, shape.width],
                                                                       kernel: [3, 3], ceilMode: false)
    }

    /// Runs the kernel directly (weights transformed per call) and compares with the reference.
    static func checkKernel(_ shape: Shape, seed: UInt64, threads: Int) throws {
        let geometry = try geometry(shape)
        #expect(WinogradKernels.applies(geometry: geometry, groups: 1))
        let x = T.random([shape.batch, shape.channels, shape.height, shape.width], seed: seed)
        let w = T.random([shape.outputChannels, shape.channels, 3, 3], seed: seed + 1)
        let b = T.random([shape.outputChannels], seed: seed + 2)
        let outputShape = [shape.batch, shape.outputChannels] + geometry.outputSize
        let inputs = shape.bias ? [x, w, b] : [x, w]
        let expected = T.reference(outputShape, inputs) { pointers, output in
            ConvolutionKernels.reference(input: pointers[0], weights: pointers[1], bias: shape.bias ? pointers[2] : nil,
                                         output: output, batch: shape.batch, inputChannels: shape.channels,
                                         outputChannels: shape.outputChannels, groups: 1, geometry: geometry)
        }
        let actual = T.reference(outputShape, inputs) { pointers, output in
            let u = UnsafeMutablePointer<Float>.allocate(capacity: 16 * shape.outputChannels * shape.channels)
            defer { u.deallocate() }
            WinogradKernels.transformWeights(pointers[1], outputChannels: shape.outputChannels, channels: shape.channels,
                                             outputChannelRange: 0..<shape.outputChannels, into: u)
            try? WinogradKernels.convolve(pointers[0], u: u, bias: shape.bias ? pointers[2] : nil, output: output,
                                          batch: shape.batch, channels: shape.channels,
                                          outputChannels: shape.outputChannels, geometry: geometry,
                                          context: ExecutionContext(threads: threads))
        }
        T.expectClose(actual, expected, rtol: 1e-4, atol: 1e-4, "\(shape)")
    }

    static let shapes: [Shape] = [
        Shape(),
        Shape(height: 1, width: 1),
        Shape(channels: 1, outputChannels: 1, height: 3, width: 3, pads: [0, 0, 0, 0]),
        Shape(batch: 2, channels: 9, outputChannels: 7, height: 8, width: 9),
        Shape(channels: 3, outputChannels: 17, height: 15, width: 16, pads: [0, 0, 0, 0], bias: false),
        Shape(channels: 16, outputChannels: 5, height: 17, width: 13, pads: [2, 0, 1, 2]),
        Shape(batch: 3, channels: 33, outputChannels: 32, height: 14, width: 14),
        Shape(channels: 8, outputChannels: 31, height: 2, width: 33, pads: [1, 2, 1, 0]),
    ]

    @Test(arguments: shapes.indices)
    func kernelMatchesReference(index: Int) throws {
        try Self.checkKernel(Self.shapes[index], seed: UInt64(index) * 7, threads: 2)
        try Self.checkKernel(Self.shapes[index], seed: UInt64(index) * 7 + 3, threads: 1)
    }

    @Test(arguments: [7, 8, 9, 15, 16, 17, 31, 32, 33])
    func kernelMatchesReferenceAcrossWidths(width: Int) throws {
        try Self.checkKernel(Shape(channels: 9, outputChannels: 8, height: 5, width: width), seed: UInt64(width), threads: 2)
    }

    /// The session path: W is a constant, so its transform is cached and reused across runs.
    @Test func sessionReusesCachedWeightsAcrossRuns() throws {
        var builder = GraphBuilder(name: "winograd")
        let x = builder.input("x", .float32, ["batch", 12, 12, 11])
        let w = T.random([16, 12, 3, 3], seed: 11), b = T.random([16], seed: 12)
        let y = builder.node("Conv", [x, builder.constant(w), builder.constant(b)], attributes: ["pads": .ints([1, 1, 1, 1])])
        builder.output(y, as: "y")
        let session = try InferenceSession(model: Model(graph: try builder.build()), options: .init(threads: 2))
        let geometry = try Self.geometry(Shape(height: 12, width: 11))
        for (run, batch) in [1, 2, 1].enumerated() {
            let input = T.random([batch, 12, 12, 11], seed: 20 + UInt64(run))
            let output = try #require(try session.run(["x": input])["y"])
            let expected = T.reference([batch, 16, 12, 11], [input, w, b]) { pointers, output in
                ConvolutionKernels.reference(input: pointers[0], weights: pointers[1], bias: pointers[2], output: output,
                                             batch: batch, inputChannels: 12, outputChannels: 16, groups: 1,
                                             geometry: geometry)
            }
            T.expectClose(output, expected, rtol: 1e-4, atol: 1e-4, "run \(run)")
        }
    }
}
