import Kiln
import KilnTestSupport
import Testing

/// Winograd F(4x4, 3x3) against the textbook reference convolution, directly and through Conv.
@Suite struct WinogradF4Tests {
    typealias T = NeuralNetworkTesting
    typealias Shape = WinogradTests.Shape

    static func checkKernel(_ shape: Shape, seed: UInt64, threads: Int, activation: FusedActivation? = nil) throws {
        let geometry = try WinogradTests.geometry(shape)
        let x = T.random([shape.batch, shape.channels, shape.height, shape.width], seed: seed)
        let w = T.random([shape.outputChannels, shape.channels, 3, 3], seed: seed + 1)
        let b = T.random([shape.outputChannels], seed: seed + 2)
        let outputShape = [shape.batch, shape.outputChannels] + geometry.outputSize
        let inputs = shape.bias ? [x, w, b] : [x, w]
        let expected = T.reference(outputShape, inputs) { pointers, output in
            ConvolutionKernels.reference(input: pointers[0], weights: pointers[1], bias: shape.bias ? pointers[2] : nil,
                                         output: output, batch: shape.batch, inputChannels: shape.channels,
                                         outputChannels: shape.outputChannels, groups: 1, geometry: geometry)
            if let activation {
                for index in 0..<outputShape.reduce(1, *) { output[index] = activation.reference(output[index]) }
            }
        }
        let actual = T.reference(outputShape, inputs) { pointers, output in
            let u = UnsafeMutablePointer<Float>.allocate(capacity: max(1, 36 * shape.outputChannels * shape.channels))
            defer { u.deallocate() }
            WinogradF4Kernels.transformWeights(pointers[1], outputChannels: shape.outputChannels, channels: shape.channels,
                                               outputChannelRange: 0..<shape.outputChannels, into: u)
            do {
                try WinogradF4Kernels.convolve(pointers[0], u: u, bias: shape.bias ? pointers[2] : nil, output: output,
                                               batch: shape.batch, channels: shape.channels,
                                               outputChannels: shape.outputChannels, geometry: geometry,
                                               activation: activation, context: ExecutionContext(threads: threads))
            } catch {
                Issue.record("\(error)")
            }
        }
        // F(4x4) rounds more than direct convolution (transform entries up to 8 and 1/24).
        T.expectClose(actual, expected, rtol: 2e-4, atol: 2e-4, "\(shape)")
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
        Shape(channels: 64, outputChannels: 16, height: 28, width: 28),
    ]

    @Test(arguments: shapes.indices)
    func kernelMatchesReference(index: Int) throws {
        try Self.checkKernel(Self.shapes[index], seed: UInt64(index) * 7, threads: 2)
        try Self.checkKernel(Self.shapes[index], seed: UInt64(index) * 7 + 3, threads: 1, activation: .relu)
    }

    /// Large enough for the threads to take bands of tile rows (each band through both transforms
    /// and its products on one thread): even and uneven bands, several images, asymmetric padding.
    static let bandShapes: [Shape] = [
        Shape(channels: 8, outputChannels: 8, height: 48, width: 48),
        Shape(batch: 2, channels: 5, outputChannels: 6, height: 37, width: 45, pads: [0, 2, 1, 1]),
        Shape(channels: 3, outputChannels: 9, height: 70, width: 30, bias: false),
    ]

    @Test(arguments: bandShapes.indices)
    func tileRowBandsMatchReference(index: Int) throws {
        let shape = Self.bandShapes[index]
        let geometry = try WinogradTests.geometry(shape)
        let tileRows = (geometry.outputSize[0] + 3) / 4, tileColumns = (geometry.outputSize[1] + 3) / 4
        #expect(WinogradF4Kernels.splitsByTileRows(tiles: shape.batch * tileRows * tileColumns, tileRows: tileRows,
                                                   channels: shape.channels, outputChannels: shape.outputChannels,
                                                   threads: 2))
        try Self.checkKernel(shape, seed: UInt64(index) + 40, threads: 2, activation: .relu)
        try Self.checkKernel(shape, seed: UInt64(index) + 50, threads: 3)
    }

    @Test func tileRowBandsOnlyWhereTheTransformsOutweighTheWeights() {
        // ResNet's 56x56 layers (196 tiles, 64 channels) take bands; its 28x28 ones (49 tiles) and
        // wide layers whose weights dwarf V and M do not; one thread never does.
        #expect(WinogradF4Kernels.splitsByTileRows(tiles: 196, tileRows: 14, channels: 64, outputChannels: 64, threads: 2))
        #expect(!WinogradF4Kernels.splitsByTileRows(tiles: 49, tileRows: 7, channels: 128, outputChannels: 128, threads: 2))
        #expect(!WinogradF4Kernels.splitsByTileRows(tiles: 196, tileRows: 14, channels: 512, outputChannels: 512, threads: 2))
        #expect(!WinogradF4Kernels.splitsByTileRows(tiles: 196, tileRows: 14, channels: 64, outputChannels: 64, threads: 1))
    }

    @Test(arguments: [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33])
    func kernelMatchesReferenceAcrossWidths(width: Int) throws {
        try Self.checkKernel(Shape(channels: 9, outputChannels: 8, height: 6, width: width), seed: UInt64(width), threads: 2)
        try Self.checkKernel(Shape(channels: 4, outputChannels: 3, height: width, width: 5, pads: [0, 1, 2, 1]),
                             seed: UInt64(width) + 100, threads: 1)
    }

    /// Through Conv (W constant, so the transform is cached): 24x24 outputs have 36 4x4 tiles, enough
    /// for F(4x4); 12x12 ones fall back to F(2x2); both with a fused Relu.
    @Test(arguments: [12, 24])
    func convolutionOperatorMatchesReference(size: Int) throws {
        for threads in [1, 2] {
            try ConvTests.check(ConvTests.Case(channels: 16, outputChannels: 12, spatial: [size, size], kernel: [3, 3],
                                               pads: [1, 1, 1, 1]), seed: UInt64(size + threads), threads: threads)
        }
        var builder = GraphBuilder(name: "winograd")
        let x = builder.input("x", .float32, [1, 16, .fixed(size), .fixed(size)])
        let w = T.random([12, 16, 3, 3], seed: 5), b = T.random([12], seed: 6)
        let y = builder.node("Conv", [x, builder.constant(w), builder.constant(b)],
                             attributes: ["pads": .ints([1, 1, 1, 1]), "kiln_activation": .string("Relu")])
        builder.output(y, as: "y")
        let session = try InferenceSession(model: Model(graph: try builder.build()), options: .init(threads: 2))
        let input = T.random([1, 16, size, size], seed: 7)
        let geometry = try WinogradTests.geometry(Shape(height: size, width: size))
        let expected = T.reference([1, 12, size, size], [input, w, b]) { pointers, output in
            ConvolutionKernels.reference(input: pointers[0], weights: pointers[1], bias: pointers[2], output: output,
                                         batch: 1, inputChannels: 16, outputChannels: 12, groups: 1, geometry: geometry)
            for index in 0..<(12 * size * size) { output[index] = max(0, output[index]) }
        }
        for _ in 0..<2 {
            let actual = try #require(try session.run(["x": input])["y"])
            T.expectClose(actual, expected, rtol: 2e-4, atol: 2e-4, "size \(size)")
        }
    }
}
