import Kiln
import KilnTestSupport
import Testing

/// The single-pass depthwise 3x3 kernel against the textbook reference, over widths around vector
/// sizes, both strides, symmetric and asymmetric padding, with bias and a fused activation.
@Suite struct DepthwiseKernelTests {
    typealias T = NeuralNetworkTesting

    static func check(height: Int, width: Int, stride: Int, pads: [Int], activation: FusedActivation?,
                      seed: UInt64) throws {
        let node = Node(name: "conv", opType: "Conv", inputs: [], outputs: [],
                        attributes: ["pads": .ints(pads), "strides": .ints([stride, stride])])
        let geometry = try SlidingWindowAttributes(node: node).forwardGeometry(inputSize: [height, width],
                                                                               kernel: [3, 3], ceilMode: false)
        #expect(DepthwiseKernels.applies3x3(geometry))
        let x = T.random([1, 1, height, width], seed: seed)
        let w = T.random([1, 1, 3, 3], seed: seed + 1)
        let b = T.random([1], seed: seed + 2)
        let shape = [1, 1] + geometry.outputSize
        let expected = T.reference(shape, [x, w, b]) { pointers, output in
            ConvolutionKernels.reference(input: pointers[0], weights: pointers[1], bias: pointers[2], output: output,
                                         batch: 1, inputChannels: 1, outputChannels: 1, groups: 1, geometry: geometry)
            if let activation {
                for index in 0..<geometry.outputVolume { output[index] = activation.reference(output[index]) }
            }
        }
        let actual = T.reference(shape, [x, w, b]) { pointers, output in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: DepthwiseKernels.scratchFloats(geometry))
            defer { scratch.deallocate() }
            DepthwiseKernels.convolve3x3(pointers[0], weights: pointers[1], bias: pointers[2][0], geometry: geometry,
                                         activation: activation, scratch: scratch, output: output)
        }
        T.expectClose(actual, expected, rtol: 1e-5, atol: 1e-5, "\(height)x\(width) s\(stride) p\(pads)")
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
                               seed: UInt64(width * 10 + stride * 100 + index))
            }
        }
    }

    // A caller convolving many planes passes `paddingReady` after the first: the padding written
    // for the first plane must still be zero, and nothing of the first plane may leak into the next.
    @Test(arguments: [5, 7, 14, 28, 31, 40, 70])
    func reusesPaddingAcrossPlanes(width: Int) throws {
        for stride in [1, 2] {
            for pads in [[1, 1, 1, 1], [0, 1, 2, 0], [2, 2, 2, 2]] {
                let node = Node(name: "conv", opType: "Conv", inputs: [], outputs: [],
                                attributes: ["pads": .ints(pads), "strides": .ints([stride, stride])])
                let geometry = try SlidingWindowAttributes(node: node).forwardGeometry(
                    inputSize: [width, width], kernel: [3, 3], ceilMode: false)
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

    @Test func matchesReferenceOnMobileNetShapes() throws {
        try Self.check(height: 112, width: 112, stride: 2, pads: [0, 0, 1, 1], activation: .clip(low: 0, high: 6), seed: 1)
        try Self.check(height: 14, width: 14, stride: 1, pads: [1, 1, 1, 1], activation: .relu, seed: 2)
        try Self.check(height: 7, width: 7, stride: 2, pads: [1, 1, 1, 1], activation: nil, seed: 3)
        try Self.check(height: 56, width: 56, stride: 1, pads: [1, 1, 1, 1], activation: .geluTanh, seed: 4)
        try Self.check(height: 57, width: 45, stride: 2, pads: [1, 0, 1, 2], activation: .relu, seed: 5)
    }
}
