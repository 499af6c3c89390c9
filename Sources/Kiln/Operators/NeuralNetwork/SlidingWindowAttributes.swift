/// The ONNX `auto_pad` attribute.
package enum AutoPad: String, Sendable {
    case notSet = "NOTSET"
    case sameUpper = "SAME_UPPER"
    case sameLower = "SAME_LOWER"
    case valid = "VALID"
}

/// The window attributes shared by `Conv`, `ConvTranspose`, `MaxPool` and `AveragePool`
/// (`auto_pad`, `kernel_shape`, `strides`, `dilations`, `pads`), parsed and checked once, and the
/// output-size arithmetic of the ONNX spec.
package struct SlidingWindowAttributes: Sendable {
    package var autoPad: AutoPad
    package var kernelShape: [Int]?
    private var explicitStrides: [Int]?
    private var explicitDilations: [Int]?
    /// `[begin_0, begin_1, ..., end_0, end_1, ...]`, or nil for all zeros.
    private var explicitPads: [Int]?

    package init(node: Node) throws {
        let autoPadName = try node.string("auto_pad", default: "NOTSET")
        guard let autoPad = AutoPad(rawValue: autoPadName) else {
            throw OperatorError("auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got '\(autoPadName)'")
        }
        self.autoPad = autoPad
        kernelShape = try node.ints("kernel_shape")
        explicitStrides = try node.ints("strides")
        explicitDilations = try node.ints("dilations")
        explicitPads = try node.ints("pads")
        if let kernelShape, kernelShape.contains(where: { $0 <= 0 }) {
            throw OperatorError("kernel_shape \(kernelShape) must be positive")
        }
        if let explicitStrides, explicitStrides.contains(where: { $0 <= 0 }) {
            throw OperatorError("strides \(explicitStrides) must be positive")
        }
        if let explicitDilations, explicitDilations.contains(where: { $0 <= 0 }) {
            throw OperatorError("dilations \(explicitDilations) must be positive")
        }
        if let explicitPads, explicitPads.contains(where: { $0 < 0 }) {
            throw OperatorError("pads \(explicitPads) must not be negative")
        }
        if let kernelShape { try checkSpatialRank(kernelShape.count) }
    }

    /// The number of spatial axes the explicit attributes imply, if any says.
    package var impliedSpatialRank: Int? {
        kernelShape?.count ?? explicitStrides?.count ?? explicitDilations?.count ?? explicitPads.map { $0.count / 2 }
    }

    /// Checks that every per-axis attribute has one entry per spatial axis (two for `pads`).
    package func checkSpatialRank(_ rank: Int) throws {
        if let kernelShape, kernelShape.count != rank {
            throw OperatorError("kernel_shape \(kernelShape) has \(kernelShape.count) entries for \(rank) spatial axes")
        }
        if let explicitStrides, explicitStrides.count != rank {
            throw OperatorError("strides \(explicitStrides) has \(explicitStrides.count) entries for \(rank) spatial axes")
        }
        if let explicitDilations, explicitDilations.count != rank {
            throw OperatorError("dilations \(explicitDilations) has \(explicitDilations.count) entries for \(rank) spatial axes")
        }
        if let explicitPads, explicitPads.count != 2 * rank {
            throw OperatorError("pads \(explicitPads) has \(explicitPads.count) entries, expected \(2 * rank) (begin and end for \(rank) spatial axes)")
        }
    }

    package func strides(rank: Int) -> [Int] { explicitStrides ?? Array(repeating: 1, count: rank) }
    package func dilations(rank: Int) -> [Int] { explicitDilations ?? Array(repeating: 1, count: rank) }

    /// Explicit pads split into begin and end; zeros when absent. `auto_pad` other than NOTSET
    /// overrides them, as in ONNX Runtime.
    package func pads(rank: Int) -> (begin: [Int], end: [Int]) {
        guard autoPad == .notSet, let explicitPads else {
            return (Array(repeating: 0, count: rank), Array(repeating: 0, count: rank))
        }
        return (Array(explicitPads[0..<rank]), Array(explicitPads[rank..<(2 * rank)]))
    }

    /// The geometry of a convolution or pooling window over `inputSize` (spatial dims only).
    package func forwardGeometry(inputSize: [Int], kernel: [Int], ceilMode: Bool) throws -> SlidingWindowGeometry {
        let rank = inputSize.count
        let strides = strides(rank: rank), dilations = dilations(rank: rank)
        var (padsBegin, padsEnd) = pads(rank: rank)
        var outputSize = [Int](repeating: 0, count: rank)
        for axis in 0..<rank {
            let resolved = try SlidingWindowAttributes.forwardAxis(
                input: inputSize[axis], kernel: kernel[axis], stride: strides[axis], dilation: dilations[axis],
                padBegin: padsBegin[axis], padEnd: padsEnd[axis], autoPad: autoPad, ceilMode: ceilMode, axis: axis)
            outputSize[axis] = resolved.output
            padsBegin[axis] = resolved.padBegin
            padsEnd[axis] = resolved.padEnd
        }
        return SlidingWindowGeometry(inputSize: inputSize, outputSize: outputSize, kernel: kernel, strides: strides,
                                     dilations: dilations, padsBegin: padsBegin, padsEnd: padsEnd)
    }

    /// Output spatial dims of a convolution or pooling window for possibly symbolic input dims. A
    /// symbolic dim stays the same symbol when the window preserves sizes (stride 1 and padding
    /// equal to the kernel's extent minus one); otherwise it becomes a fresh symbol.
    package func forwardOutputDims(input: [Dim], kernel: [Int], ceilMode: Bool,
                                   symbols: inout SymbolGenerator) throws -> [Dim] {
        let rank = input.count
        let strides = strides(rank: rank), dilations = dilations(rank: rank)
        let (padsBegin, padsEnd) = pads(rank: rank)
        return try (0..<rank).map { axis -> Dim in
            guard let size = input[axis].value else {
                let extent = (kernel[axis] - 1) * dilations[axis] + 1
                let preservesSize = strides[axis] == 1 && (
                    autoPad == .sameUpper || autoPad == .sameLower || (autoPad == .valid && extent == 1)
                        || (autoPad == .notSet && padsBegin[axis] + padsEnd[axis] == extent - 1))
                return preservesSize ? input[axis] : symbols.fresh()
            }
            return .fixed(try SlidingWindowAttributes.forwardAxis(
                input: size, kernel: kernel[axis], stride: strides[axis], dilation: dilations[axis],
                padBegin: padsBegin[axis], padEnd: padsEnd[axis], autoPad: autoPad, ceilMode: ceilMode,
                axis: axis).output)
        }
    }

    /// One axis of the ONNX output-size formulas for convolution and pooling.
    package static func forwardAxis(input: Int, kernel: Int, stride: Int, dilation: Int, padBegin: Int, padEnd: Int,
                                    autoPad: AutoPad, ceilMode: Bool, axis: Int) throws -> (output: Int, padBegin: Int, padEnd: Int) {
        let extent = (kernel - 1) * dilation + 1
        var result: (output: Int, padBegin: Int, padEnd: Int)
        switch autoPad {
        case .sameUpper, .sameLower:
            let output = IntegerDivision.ceil(input, stride)
            let total = max(0, (output - 1) * stride + extent - input)
            let smaller = total / 2, larger = total - total / 2
            result = autoPad == .sameUpper ? (output, smaller, larger) : (output, larger, smaller)
        case .valid:
            result = (IntegerDivision.floor(input - extent, stride) + 1, 0, 0)
        case .notSet:
            let span = input + padBegin + padEnd - extent
            if ceilMode {
                var output = IntegerDivision.ceil(span, stride) + 1
                // A last window that would start inside the end padding is dropped.
                if output > 0 && (output - 1) * stride >= input + padBegin { output -= 1 }
                result = (output, padBegin, padEnd)
            } else {
                result = (IntegerDivision.floor(span, stride) + 1, padBegin, padEnd)
            }
        }
        // An empty axis gives an empty output; otherwise the (padded) axis must hold one window.
        if input == 0 { return (max(0, result.output), result.padBegin, result.padEnd) }
        guard result.output >= 1, input + result.padBegin + result.padEnd >= extent else {
            throw OperatorError("spatial axis \(axis) of size \(input) (padded by \(result.padBegin)+\(result.padEnd)) is smaller than the window extent \(extent)")
        }
        return result
    }
}
