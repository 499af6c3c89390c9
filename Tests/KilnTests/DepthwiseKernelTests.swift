import Kiln
import KilnTestSupport
import Testing

/// The single-pass depthwise 3x3 kernels (per plane, and four channels interleaved) against the
/// textbook reference, over widths around vector sizes, both strides, symmetric and asymmetric
/// padding, with and without bias, with fused activations.
@Suite struct DepthwiseKernelTests {
    typealias T = NeuralNetworkTesting

    /// The geometry of a 3x3 Conv node with these pads and stride over a `height x width` plane.
    static func geometry(height: Int, width: Int, stride: Int, pads: [Int]) throws -> SlidingWindowGeometry {
        let node = Node(name: "conv", opType: "Conv", inputs: [], outputs: [],
                        attributes: ["pads": .ints(pads), "strides": .ints([stride, stride])])
        return try SlidingWindowAttributes(node: node).forwardGeometry(inputSize: [height, width], kernel: [3, 3],
                                                                       ceilMode: false)
    }

    /// Four channels through the per-plane kernel and through the channel-group kernel, each against
    /// the reference.
    static func check(height: Int, width: Int, stride: Int, pads: [Int], activation: FusedActivation?,
                      seed: UInt64, bias: Bool = true) throws {
        let geometry = try Self.geometry(height: height, width: width, stride: stride, pads: pads)
        #expect(DepthwiseKernels.applies3x3(geometry))
        let channels = DepthwiseChannelGroups.width
        let x = T.random([1, channels, height, width], seed: seed)
        let w = T.random([channels, 1, 3, 3], seed: seed + 1)
        let b = bias ? T.random([channels], seed: seed + 2) : try Tensor(zeros: .float32, shape: [channels])
        let shape = [1, channels] + geometry.outputSize
        let inVolume = geometry.inputVolume, outVolume = geometry.outputVolume
        let expected = T.reference(shape, [x, w, b]) { pointers, output in
            ConvolutionKernels.reference(input: pointers[0], weights: pointers[1], bias: pointers[2], output: output,
                                         batch: 1, inputChannels: channels, outputChannels: channels, groups: channels,
                                         geometry: geometry)
            if let activation {
                for index in 0..<(channels * outVolume) { output[index] = activation.reference(output[index]) }
            }
        }
        let planes = T.reference(shape, [x, w, b]) { pointers, output in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: DepthwiseKernels.scratchFloats(geometry))
            defer { scratch.deallocate() }
            for plane in 0..<channels {
                DepthwiseKernels.convolve3x3(pointers[0] + plane * inVolume, weights: pointers[1] + plane * 9,
                                             bias: pointers[2][plane], geometry: geometry, activation: activation,
                                             scratch: scratch, paddingReady: plane > 0, output: output + plane * outVolume)
            }
        }
        let grouped = T.reference(shape, [x, w, b]) { pointers, output in
            withGroupScratch(geometry) { scratch in
                DepthwiseChannelGroups.convolve3x3(pointers[0], weights: pointers[1], bias: bias ? pointers[2] : nil,
                                                   geometry: geometry, activation: activation, scratch: scratch,
                                                   paddingReady: false, output: output)
            }
        }
        let label = "\(height)x\(width) s\(stride) p\(pads) \(activation.map { "\($0)" } ?? "none")"
        T.expectClose(planes, expected, rtol: 1e-5, atol: 1e-5, "per plane " + label)
        T.expectClose(grouped, expected, rtol: 1e-5, atol: 1e-5, "grouped " + label)
    }

    /// Runs `body` with the channel-group kernel's scratch: 16-byte aligned and filled with NaN, so
    /// padding the kernel failed to write would show.
    static func withGroupScratch(_ geometry: SlidingWindowGeometry, _ body: (UnsafeMutablePointer<Float>) -> Void) {
        let count = DepthwiseChannelGroups.scratchFloats(geometry)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 16)
        defer { raw.deallocate() }
        let scratch = raw.initializeMemory(as: Float.self, repeating: .nan, count: count)
        body(scratch)
    }

    // Every width up to 33: the stride-2 split runs four pairs per step, and its remainder depends
    // on the width and on the parity of the left padding.
    @Test(arguments: Array(1...33))
    func matchesReferenceAcrossWidths(width: Int) throws {
        // Clamps run inside the kernel's loop, the others after it.
        let activations: [FusedActivation?] = [.clip(low: 0, high: 6), .sigmoid, .relu, nil, .leakyRelu(alpha: 0.1), nil]
        for stride in [1, 2] {
            for (index, pads) in [[1, 1, 1, 1], [0, 0, 0, 0], [0, 1, 2, 0], [2, 2, 2, 2], [1, 3, 0, 2], [0, 0, 1, 1]]
                .enumerated() {
                let height = max(1, width % 5 + 2)
                let minimum = pads[0] + pads[2] + height >= 3 && pads[1] + pads[3] + width >= 3
                guard minimum else { continue }
                try Self.check(height: height, width: width, stride: stride, pads: pads,
                               activation: activations[index],
                               seed: UInt64(width * 10 + stride * 100 + index), bias: index != 3)
            }
        }
    }

    // A caller convolving many planes passes `paddingReady` after the first: the padding written
    // for the first plane must still be zero, and nothing of the first plane may leak into the next.
    @Test(arguments: [5, 7, 14, 28, 31, 40, 70])
    func reusesPaddingAcrossPlanes(width: Int) throws {
        for stride in [1, 2] {
            for pads in [[1, 1, 1, 1], [0, 1, 2, 0], [2, 2, 2, 2]] {
                let geometry = try Self.geometry(height: width, width: width, stride: stride, pads: pads)
                let planes = 3
                let x = T.random([1, planes, width, width], seed: UInt64(width + stride * 100))
                let w = T.random([planes, 1, 3, 3], seed: 7)
                let shape = [1, planes] + geometry.outputSize
                let expected = T.reference(shape, [x, w]) { pointers, output in
                    for plane in 0..<planes {
                        ConvolutionKernels.reference(
                            input: pointers[0] + plane * geometry.inputVolume, weights: pointers[1] + plane * 9,
                            bias: nil, output: output + plane * geometry.outputVolume, batch: 1, inputChannels: 1,
                            outputChannels: 1, groups: 1, geometry: geometry)
                    }
                }
                let actual = T.reference(shape, [x, w]) { pointers, output in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: DepthwiseKernels.scratchFloats(geometry))
                    defer { scratch.deallocate() }
                    // Garbage first, so padding the kernel failed to write would show.
                    scratch.initialize(repeating: .nan, count: DepthwiseKernels.scratchFloats(geometry))
                    for plane in 0..<planes {
                        DepthwiseKernels.convolve3x3(pointers[0] + plane * geometry.inputVolume,
                                                     weights: pointers[1] + plane * 9, bias: 0, geometry: geometry,
                                                     activation: nil, scratch: scratch, paddingReady: plane > 0,
                                                     output: output + plane * geometry.outputVolume)
                    }
                }
                T.expectClose(actual, expected, rtol: 1e-5, atol: 1e-5, "\(width) s\(stride) p\(pads)")
            }
        }
    }

    // The same for the channel-group kernel: three groups of four planes through one scratch.
    @Test(arguments: [5, 7, 14, 28, 31, 40, 70])
    func groupsReusePadding(width: Int) throws {
        for stride in [1, 2] {
            for pads in [[1, 1, 1, 1], [0, 1, 2, 0], [2, 2, 2, 2]] {
                let geometry = try Self.geometry(height: width, width: width - 2, stride: stride, pads: pads)
                let groupWidth = DepthwiseChannelGroups.width, planes = 3 * groupWidth
                let x = T.random([1, planes, width, width - 2], seed: UInt64(width + stride * 100))
                let w = T.random([planes, 1, 3, 3], seed: 7)
                let b = T.random([planes], seed: 8)
                let shape = [1, planes] + geometry.outputSize
                let expected = T.reference(shape, [x, w, b]) { pointers, output in
                    ConvolutionKernels.reference(input: pointers[0], weights: pointers[1], bias: pointers[2],
                                                 output: output, batch: 1, inputChannels: planes, outputChannels: planes,
                                                 groups: planes, geometry: geometry)
                }
                let actual = T.reference(shape, [x, w, b]) { pointers, output in
                    Self.withGroupScratch(geometry) { scratch in
                        for group in 0..<3 {
                            let plane = group * groupWidth
                            DepthwiseChannelGroups.convolve3x3(
                                pointers[0] + plane * geometry.inputVolume, weights: pointers[1] + plane * 9,
                                bias: pointers[2] + plane, geometry: geometry, activation: nil, scratch: scratch,
                                paddingReady: group > 0, output: output + plane * geometry.outputVolume)
                        }
                    }
                }
                T.expectClose(actual, expected, rtol: 1e-5, atol: 1e-5, "\(width) s\(stride) p\(pads)")
            }
        }
    }

    @Test func matchesReferenceOnMobileNetShapes() throws {
        try Self.check(height: 112, width: 112, stride: 2, pads: [0, 0, 1, 1], activation: .clip(low: 0, high: 6), seed: 1)
        try Self.check(height: 14, width: 14, stride: 1, pads: [1, 1, 1, 1], activation: .relu, seed: 2)
        try Self.check(height: 7, width: 7, stride: 2, pads: [1, 1, 1, 1], activation: nil, seed: 3)
        try Self.check(height: 56, width: 56, stride: 1, pads: [1, 1, 1, 1], activation: .geluTanh, seed: 4)
        try Self.check(height: 57, width: 45, stride: 2, pads: [1, 0, 1, 2], activation: .relu, seed: 5)
    }
}
