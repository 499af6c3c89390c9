/// Where a sliding window (a convolution kernel or pooling window) falls on the spatial axes of
/// one channel plane: output position `o` and kernel tap `k` on axis `i` read input coordinate
/// `o * strides[i] + k * dilations[i] - padsBegin[i]`, which may fall outside `0..<inputSize[i]`.
///
/// All sizes are resolved (auto_pad applied, ceil_mode applied). Shared by convolution, transposed
/// convolution and pooling kernels.
package struct SlidingWindowGeometry: Sendable, Equatable {
    package var inputSize: [Int]
    package var outputSize: [Int]
    package var kernel: [Int]
    package var strides: [Int]
    package var dilations: [Int]
    package var padsBegin: [Int]
    /// Used by average pooling with `count_include_pad`: the padded extent ends here.
    package var padsEnd: [Int]

    package init(inputSize: [Int], outputSize: [Int], kernel: [Int], strides: [Int], dilations: [Int],
                 padsBegin: [Int], padsEnd: [Int]) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.kernel = kernel
        self.strides = strides
        self.dilations = dilations
        self.padsBegin = padsBegin
        self.padsEnd = padsEnd
    }

    /// Number of spatial axes.
    package var rank: Int { inputSize.count }

    /// A 2-D geometry's sizes as plain values, for kernels that read them in their inner loops
    /// (arrays there cost a bounds check and a retain per read).
    package var planar: PlanarWindow {
        PlanarWindow(inputHeight: inputSize[0], inputWidth: inputSize[1],
                     outputHeight: outputSize[0], outputWidth: outputSize[1],
                     kernelHeight: kernel[0], kernelWidth: kernel[1],
                     strideHeight: strides[0], strideWidth: strides[1],
                     dilationHeight: dilations[0], dilationWidth: dilations[1],
                     padTop: padsBegin[0], padLeft: padsBegin[1])
    }
    package var inputVolume: Int { inputSize.reduce(1, *) }
    package var outputVolume: Int { outputSize.reduce(1, *) }
    package var kernelVolume: Int { kernel.reduce(1, *) }

    /// True when every output position reads exactly the input position with the same index
    /// (kernel 1, stride 1, no padding): the convolution is then a plain matrix product.
    package var isPointwise: Bool {
        kernel.allSatisfy { $0 == 1 } && strides.allSatisfy { $0 == 1 } && padsBegin.allSatisfy { $0 == 0 }
            && inputSize == outputSize
    }

    /// The output positions on `axis` whose input coordinate for kernel tap `tap` lies inside the
    /// input: `0 <= o * stride + tap * dilation - padBegin < inputSize`.
    @inlinable
    package func validOutputRange(axis: Int, tap: Int) -> Range<Int> {
        SlidingWindowGeometry.validRange(offset: tap * dilations[axis] - padsBegin[axis], stride: strides[axis],
                                         limit: inputSize[axis], count: outputSize[axis])
    }

    /// The `o` in `0..<count` with `0 <= o * stride + offset < limit`.
    @inlinable
    package static func validRange(offset: Int, stride: Int, limit: Int, count: Int) -> Range<Int> {
        let lower = offset >= 0 ? 0 : (-offset + stride - 1) / stride
        let span = limit - 1 - offset
        let upper = span < 0 ? 0 : min(count, span / stride + 1)
        return lower < upper ? lower..<upper : 0..<0
    }
}

/// Integer division helpers with the rounding the shape formulas need (Swift's `/` truncates).
package enum IntegerDivision {
    @inlinable
    package static func floor(_ numerator: Int, _ denominator: Int) -> Int {
        let quotient = numerator / denominator
        return (numerator % denominator != 0 && (numerator < 0) != (denominator < 0)) ? quotient - 1 : quotient
    }

    @inlinable
    package static func ceil(_ numerator: Int, _ denominator: Int) -> Int {
        -floor(-numerator, denominator)
    }
}

/// The sizes of a 2-D ``SlidingWindowGeometry`` (``SlidingWindowGeometry/planar``).
package struct PlanarWindow: Sendable {
    package let inputHeight: Int, inputWidth: Int
    package let outputHeight: Int, outputWidth: Int
    package let kernelHeight: Int, kernelWidth: Int
    package let strideHeight: Int, strideWidth: Int
    package let dilationHeight: Int, dilationWidth: Int
    package let padTop: Int, padLeft: Int
}
