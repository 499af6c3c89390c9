import Foundation
import Synchronization

/// `Conv`: N-D convolution (cross-correlation) over `X [N, C, D1...Dn]` with `W [M, C/group, k1...kn]`
/// and optional bias `B [M]`; float32.
///
/// Kernel choice: a depthwise convolution (group == C == M, 1 or 2 spatial axes) runs a direct
/// kernel per plane; a pointwise one (kernel 1, stride 1, no padding) is one `sgemm` per image and
/// group straight on the input; everything else lowers to im2col (threaded) plus `sgemm`.
///
/// With the Kiln-internal attribute `kiln_channels_last = 1` (set by ``ChannelsLastPass``), X, Y and
/// the residual are `[N, spatial..., C]` instead (2-D only; W keeps ONNX's layout): a depthwise 3x3
/// convolution then runs ``DepthwiseChannelsLast``, a group-1 one ``ChannelsLastGEMM``.
package struct Conv: Operator {
    package static let opType = "Conv"

    package let window: SlidingWindowAttributes
    package let groups: Int
    /// Set by ``prepare(constants:)`` when W is a graph constant: its Winograd transform (or, for a
    /// channels-last node, its reordering) is then computed on the first run that needs it and
    /// kept, instead of once per run.
    private var derivedWeights: TransformedWeightsCache?
    /// Applied to each block of output right after it is computed (convert-time fusion).
    package let activation: FusedActivation?
    /// Whether a fourth input `Z` (the output's shape) is added before the activation (convert-time
    /// fusion of a residual `Add`, see ``FuseResidualAddPass``).
    package let addsResidual: Bool
    /// Whether Y and Z are channels-last (`[N, H, W, C]`, see ``ChannelsLastPass``).
    package let channelsLast: Bool
    /// Whether X is channels-last too.
    package let inputChannelsLast: Bool
    /// Whether the file stores W in ``DirectConvolutionChannelsLast``'s packed layout
    /// (``PackWeightsPass``): the kernel then reads it in place.
    package let storedWeightsPacked: Bool
    /// The tile whose ``WinogradChannelsLast`` transform the file stores instead of W
    /// (``PackWeightsPass``; W's input is then `[positions, M / 64, C, 64]`), read in place.
    package let storedWinogradTile: WinogradChannelsLast.Tile?
    /// W back in ONNX's layout for a build that does not run the direct kernel, made by its first run.
    private var unpackedWeights: TransformedWeightsCache?
    /// A constant W's last group of output channels widened for the direct kernel, when it is
    /// narrower than 64 (``DirectConvolutionChannelsLast/widenLastGroup(_:outputChannels:channels:kernelVolume:into:)``).
    private var widenedLastGroup: TransformedWeightsCache?
    /// A constant W's ``WinogradChannelsLast`` transforms (one per tile), made by the first run that uses each.
    private var winogradWeights: [WinogradChannelsLast.Tile: TransformedWeightsCache] = [:]
    /// The sizes the last run worked out, reused by runs of the same shapes.
    private let lastRunShape = LastRunShape()

    package init(node: Node, opset: Int) throws {
        addsResidual = try node.int(FuseResidualAddPass.attributeName, default: 0) != 0
        let layout = try node.int(ChannelsLastPass.attributeName, default: 0)
        guard [0, 1, ChannelsLastPass.outputOnly].contains(layout) else {
            throw OperatorError("\(ChannelsLastPass.attributeName) must be 0, 1 or \(ChannelsLastPass.outputOnly), got \(layout)")
        }
        channelsLast = layout != 0
        inputChannelsLast = layout == 1
        try node.expectArity(inputs: addsResidual ? 4...4 : 2...3)
        window = try SlidingWindowAttributes(node: node)
        activation = try FusedActivation(node: node)
        groups = try node.int("group", default: 1)
        guard groups >= 1 else { throw OperatorError("group must be at least 1, got \(groups)") }
        let stored = try node.int(PackWeightsPass.attributeName, default: 0)
        storedWeightsPacked = stored == 1
        storedWinogradTile = WinogradChannelsLast.Tile(storedWeightsAttribute: stored)
        guard stored == 0 || storedWeightsPacked || storedWinogradTile != nil else {
            throw OperatorError("\(PackWeightsPass.attributeName) must be 0, 1, 2 or 3, got \(stored)")
        }
        if stored != 0 && (!channelsLast || groups != 1) {
            throw OperatorError("\(PackWeightsPass.attributeName) needs a channels-last convolution of group 1")
        }
        if storedWinogradTile != nil && !inputChannelsLast {
            throw OperatorError("\(PackWeightsPass.attributeName) = \(stored) (a Winograd transform) needs a channels-last input")
        }
    }

    package mutating func prepare(constants: [Tensor?]) throws {
        let constantWeights = constants.count > 1 && constants[1] != nil
        if storedWeightsPacked || storedWinogradTile != nil {
            guard constantWeights else { throw OperatorError("\(PackWeightsPass.attributeName) needs W to be a constant") }
            unpackedWeights = TransformedWeightsCache()
        }
        if constantWeights {
            derivedWeights = TransformedWeightsCache()
            winogradWeights = [.f2x2: TransformedWeightsCache(), .f4x4: TransformedWeightsCache()]
            widenedLastGroup = TransformedWeightsCache()
        }
    }

    /// Checks the static shapes of X, W and B against each other and returns the kernel's spatial
    /// dims when known.
    private func checkShapes(input: [Dim], weights: [Dim], bias: [Dim]?) throws -> [Int]? {
        guard input.count >= 3 else {
            throw OperatorError("input X must have rank >= 3 ([N, C, spatial...]), has shape \(input.map(\.description))")
        }
        guard weights.count == input.count else {
            throw OperatorError("weights W have rank \(weights.count) (shape \(weights.map(\.description))), input X has rank \(input.count)")
        }
        let spatialRank = input.count - 2
        try window.checkSpatialRank(spatialRank)
        if let outputChannels = weights[0].value, outputChannels % groups != 0 {
            throw OperatorError("output channels \(outputChannels) (W dim 0) are not divisible by group \(groups)")
        }
        if let channels = input[1].value {
            guard channels % groups == 0 else {
                throw OperatorError("input channels \(channels) are not divisible by group \(groups)")
            }
            if let perGroup = weights[1].value, perGroup * groups != channels {
                throw OperatorError("W has \(perGroup) input channels per group; X has \(channels) channels in \(groups) groups (expected \(channels / groups))")
            }
        }
        if let bias {
            guard bias.count == 1 else { throw OperatorError("bias B must be 1-D, has shape \(bias.map(\.description))") }
            if let biasSize = bias[0].value, let outputChannels = weights[0].value, biasSize != outputChannels {
                throw OperatorError("bias B has \(biasSize) values for \(outputChannels) output channels")
            }
        }
        let weightKernel = weights[2...].map(\.value)
        if let kernelShape = window.kernelShape {
            for (axis, size) in weightKernel.enumerated() where size != nil && size != kernelShape[axis] {
                throw OperatorError("kernel_shape \(kernelShape) does not match W's spatial dims \(weights[2...].map(\.description))")
            }
            return kernelShape
        }
        guard weightKernel.allSatisfy({ $0 != nil }) else { return nil }
        return weightKernel.map { $0! }
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        let weights = try ShapeInference.requireType(inputs, 1)
        let bias = inputs.count > 2 && inputs[2].isPresent ? try ShapeInference.requireType(inputs, 2) : nil
        for (name, type) in [("X", input), ("W", weights), ("B", bias)] {
            if let type, type.dtype != .float32 { throw OperatorError("Conv supports float32, \(name) is \(type.dtype)") }
        }
        guard let physicalInputShape = input.shape, let storedWeightShape = weights.shape else {
            guard let rank = input.rank ?? weights.rank else { return [TensorType(.float32, nil)] }
            return [TensorType(.float32, (0..<rank).map { _ in symbols.fresh() })]
        }
        let inputShape = try logicalShape(physicalInputShape)
        let weightShape = try logicalWeightShape(storedWeightShape)
        let kernel = try checkShapes(input: inputShape, weights: weightShape, bias: bias?.shape)
        let spatial: [Dim]
        if let kernel {
            spatial = try window.forwardOutputDims(input: Array(inputShape[2...]), kernel: kernel, ceilMode: false,
                                                   symbols: &symbols)
        } else {
            spatial = inputShape[2...].map { _ in symbols.fresh() }
        }
        let outputShape = physicalShape([inputShape[0], weightShape[0]] + spatial)
        if addsResidual { try FusedResidual.checkType(inputs, output: outputShape) }
        return [TensorType(.float32, outputShape)]
    }

    /// `[N, C, spatial...]` of an input in this node's layout.
    private func logicalShape<Element>(_ shape: [Element]) throws -> [Element] {
        guard inputChannelsLast else {
            if channelsLast && shape.count != 4 {
                throw OperatorError("a channels-last Conv takes a rank-4 input, got rank \(shape.count)")
            }
            return shape
        }
        guard shape.count == 4 else {
            throw OperatorError("a channels-last Conv takes a rank-4 input [N, H, W, C], got rank \(shape.count)")
        }
        return [shape[0], shape[3], shape[1], shape[2]]
    }

    /// W's shape in ONNX's terms, `[M, C / group, kH, kW]`: a W stored as a Winograd transform
    /// (``storedWinogradTile``) is `[positions, M / 64, C, 64]` in the file.
    private func logicalWeightShape(_ shape: [Dim]) throws -> [Dim] {
        guard let tile = storedWinogradTile else { return shape }
        let sizes = shape.compactMap(\.value)
        let width = WinogradChannelsLast.panelWidth
        guard sizes.count == 4, shape.count == 4, sizes[0] == tile.positions, sizes[3] == width else {
            throw OperatorError("W stored as a Winograd transform (\(PackWeightsPass.attributeName)) must have shape [\(tile.positions), M / \(width), C, \(width)], has \(shape.map(\.description))")
        }
        return [.fixed(sizes[1] * width), .fixed(sizes[2]), 3, 3]
    }

    /// The output shape in this node's layout, from `[N, M, spatial...]`.
    private func physicalShape<Element>(_ shape: [Element]) -> [Element] {
        guard channelsLast else { return shape }
        var moved = shape
        moved.append(moved.remove(at: 1))
        return moved
    }

    /// The checked sizes of one run.
    package struct RunShape: Sendable {
        package let batch: Int
        package let channels: Int
        package let outputChannels: Int
        package let geometry: SlidingWindowGeometry
        /// In this node's layout.
        package let outputShape: [Int]
    }

    /// Checks X, W and B (float32, shapes that fit) and works out the run's sizes.
    package func runShape(input: Tensor, weights: Tensor, bias: Tensor?) throws -> RunShape {
        guard input.dtype == .float32 else { throw OperatorError("Conv supports float32, X is \(input.dtype)") }
        guard weights.dtype == .float32 else { throw OperatorError("Conv supports float32, W is \(weights.dtype)") }
        if let bias, bias.dtype != .float32 { throw OperatorError("Conv supports float32, B is \(bias.dtype)") }
        return try lastRunShape.shape(input: input.shape, weights: weights.shape, bias: bias?.shape) {
            try workOutRunShape(input: input, weights: weights, bias: bias)
        }
    }

    private func workOutRunShape(input: Tensor, weights: Tensor, bias: Tensor?) throws -> RunShape {
        let inputShape = try logicalShape(input.shape)
        let weightShape = try logicalWeightShape([Dim](weights.shape))
        guard let kernel = try checkShapes(input: [Dim](inputShape), weights: weightShape,
                                           bias: bias.map { [Dim]($0.shape) })
        else { throw OperatorError("kernel shape is unknown") }
        let geometry = try window.forwardGeometry(inputSize: Array(inputShape[2...]), kernel: kernel, ceilMode: false)
        let batch = inputShape[0], channels = inputShape[1]
        guard let outputChannels = weightShape[0].value else { throw OperatorError("W's output channels are unknown") }
        return RunShape(batch: batch, channels: channels, outputChannels: outputChannels, geometry: geometry,
                        outputShape: physicalShape([batch, outputChannels] + geometry.outputSize))
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        guard let input = inputs[0], let weights = inputs[1] else { throw OperatorError("inputs X and W are required") }
        let bias = inputs.count > 2 ? inputs[2] : nil
        let shape = try runShape(input: input, weights: weights, bias: bias)
        let residual = addsResidual ? try FusedResidual.checked(inputs, output: shape.outputShape) : nil
        let output = try Tensor.uninitialized(.float32, shape: shape.outputShape)
        guard output.count > 0 else { return [output] }

        try input.withUnsafePointer(as: Float.self) { x in
            try weights.withUnsafePointer(as: Float.self) { w in
                try output.withUnsafeMutablePointer(as: Float.self) { y in
                    try bias.withUnsafeFloatPointer { b in
                        try residual.withUnsafeFloatPointer { z in
                            try compute(x, w, b, z, y, batch: shape.batch, channels: shape.channels,
                                        outputChannels: shape.outputChannels, geometry: shape.geometry, context: context)
                        }
                    }
                }
            }
        }
        return [output]
    }

    /// Computes a channels-last group-1 convolution (no residual) into `y`, whose positions are
    /// `outputStride` floats apart: one branch of a ``KilnConcatConvolutions``, written straight
    /// into its channels of the joined output.
    package func computeChannelsLast(_ input: Tensor, _ weights: Tensor, _ bias: Tensor?, shape: RunShape,
                                     into y: UnsafeMutablePointer<Float>, outputStride: Int,
                                     context: ExecutionContext) throws {
        guard channelsLast, groups == 1, !addsResidual else {
            throw OperatorError("a joined convolution must be channels-last, group 1 and without a residual")
        }
        try input.withUnsafePointer(as: Float.self) { x in
            try weights.withUnsafePointer(as: Float.self) { w in
                try bias.withUnsafeFloatPointer { b in
                    try computeChannelsLast(x, w, b, nil, y, outputStride: outputStride, batch: shape.batch,
                                            channels: shape.channels, outputChannels: shape.outputChannels,
                                            geometry: shape.geometry, context: context)
                }
            }
        }
    }

    /// Runs the kernel that fits, then, for kernels that cannot take the residual themselves, adds it
    /// and applies the activation in one pass over the output.
    private func compute(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>?,
                         _ z: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, batch: Int, channels: Int,
                         outputChannels: Int, geometry: SlidingWindowGeometry, context: ExecutionContext) throws {
        if channelsLast {
            try computeChannelsLast(x, w, b, z, y, outputStride: outputChannels, batch: batch, channels: channels,
                                    outputChannels: outputChannels, geometry: geometry, context: context)
            return
        }
        let handledResidual = try computeKernel(x, w, b, z, y, batch: batch, channels: channels,
                                                outputChannels: outputChannels, geometry: geometry,
                                                activation: activation, context: context)
        guard let z, !handledResidual else { return }
        let count = batch * outputChannels * geometry.outputVolume
        context.parallelFor(count, minimumChunk: 16_384) { range in
            let block = y + range.lowerBound, residual = z + range.lowerBound
            for index in 0..<range.count { block[index] += residual[index] }
            activation?.apply(block, count: range.count)
        }
    }

    /// Returns whether the kernel added `z` (and applied the activation) itself.
    private func computeKernel(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>?,
                               _ z: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, batch: Int, channels: Int,
                               outputChannels: Int, geometry: SlidingWindowGeometry, activation: FusedActivation?,
                               context: ExecutionContext) throws -> Bool {
        // Kernels without residual support leave the activation to the pass after them.
        let unfusedActivation = z == nil ? activation : nil
        let inputVolume = geometry.inputVolume, outputVolume = geometry.outputVolume
        let kernelVolume = geometry.kernelVolume

        if groups == channels && outputChannels == channels && geometry.rank <= 2 {
            let planar = geometry.rank == 2 ? geometry : SlidingWindowGeometry(
                inputSize: [1] + geometry.inputSize, outputSize: [1] + geometry.outputSize, kernel: [1] + geometry.kernel,
                strides: [1] + geometry.strides, dilations: [1] + geometry.dilations,
                padsBegin: [0] + geometry.padsBegin, padsEnd: [0] + geometry.padsEnd)
            let work = max(1, outputVolume * kernelVolume)
            if DepthwiseKernels.applies3x3(planar) {
                try DepthwiseKernels.convolve3x3(x, weights: w, bias: b, output: y, batch: batch, channels: channels,
                                                 geometry: planar, activation: unfusedActivation, context: context)
                return false
            }
            context.parallelFor(batch * channels, minimumChunk: max(1, 32_768 / work)) { planes in
                for plane in planes {
                    let channel = plane % channels
                    ConvolutionKernels.depthwise2D(x + plane * inputVolume, weights: w + channel * kernelVolume,
                                                   bias: b?[channel] ?? 0, geometry: planar,
                                                   output: y + plane * outputVolume)
                    unfusedActivation?.apply(y + plane * outputVolume, count: outputVolume)
                }
            }
            return false
        }

        if WinogradKernels.applies(geometry: geometry, groups: groups),
           let variant = Conv.winogradVariant(batch: batch, channels: channels, outputChannels: outputChannels,
                                              geometry: geometry) {
            let large = variant == .f4x4
            let transform: (UnsafeMutablePointer<Float>) -> Void = { u in
                context.parallelFor(outputChannels, minimumChunk: max(1, 1_024 / max(1, channels))) { range in
                    if large {
                        WinogradF4Kernels.transformWeights(w, outputChannels: outputChannels, channels: channels,
                                                           outputChannelRange: range, into: u)
                    } else {
                        WinogradKernels.transformWeights(w, outputChannels: outputChannels, channels: channels,
                                                         outputChannelRange: range, into: u)
                    }
                }
            }
            let convolve: (UnsafePointer<Float>) throws -> Void = { u in
                if large {
                    try WinogradF4Kernels.convolve(x, u: u, bias: b, output: y, batch: batch, channels: channels,
                                                   outputChannels: outputChannels, geometry: geometry,
                                                   activation: unfusedActivation, context: context)
                } else {
                    try WinogradKernels.convolve(x, u: u, bias: b, output: y, batch: batch, channels: channels,
                                                 outputChannels: outputChannels, geometry: geometry,
                                                 activation: unfusedActivation, context: context)
                }
            }
            let positions = large ? 36 : 16
            if let derivedWeights {
                let u = try derivedWeights.values(count: positions * outputChannels * channels, compute: transform)
                try u.withUnsafeBufferPointer { u in try convolve(u.baseAddress!) }
            } else {
                let u = try KernelScratch.floats(rows: positions * outputChannels, columns: channels,
                                                         purpose: "Winograd weights")
                defer { KernelScratch.release(u) }
                transform(u)
                try convolve(u)
            }
            return false
        }

        try ConvolutionGEMM.convolve(x, w, b, y, batch: batch, channels: channels, outputChannels: outputChannels,
                                     groups: groups, geometry: geometry, residual: z, activation: activation,
                                     context: context)
        return true
    }
}

extension Conv {
    /// The channels-last kernels: depthwise 3x3, or group 1 as matrix products. Both take W
    /// reordered (cached for a constant W); the depthwise one leaves a residual to a pass after it.
    private func computeChannelsLast(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>?,
                                     _ z: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, outputStride: Int, batch: Int,
                                     channels: Int, outputChannels: Int, geometry: SlidingWindowGeometry,
                                     context: ExecutionContext) throws {
        let depthwise = groups > 1 && groups == channels && outputChannels == channels
        guard geometry.rank == 2,
              groups == 1 || (depthwise && inputChannelsLast && DepthwiseChannelsLast.applies(geometry)) else {
            throw OperatorError("a channels-last Conv runs 2-D convolutions of group 1 or depthwise 3x3 ones (dilation 1, stride 1 or 2); this one has group \(groups), kernel \(geometry.kernel), strides \(geometry.strides), dilations \(geometry.dilations)")
        }
        guard !depthwise || outputStride == outputChannels else {
            throw OperatorError("a depthwise convolution cannot write into a wider output")
        }
        if let tile = storedWinogradTile {
            try computeStoredWinograd(x, w, tile: tile, b, z, y, outputStride: outputStride, batch: batch,
                                      channels: channels, outputChannels: outputChannels, geometry: geometry,
                                      context: context)
            return
        }
        if !depthwise, inputChannelsLast,
           let tile = WinogradChannelsLast.tile(batch: batch, channels: channels, outputChannels: outputChannels,
                                                geometry: geometry),
           let cache = winogradWeights[tile] {
            let count = WinogradChannelsLast.transformedWeightFloats(tile: tile, channels: channels,
                                                                     outputChannels: outputChannels)
            let u = try cache.values(count: count) { u in
                WinogradChannelsLast.transformWeights(w, directLayout: storedWeightsPacked, tile: tile, channels: channels,
                                                      outputChannels: outputChannels, into: u, context: context)
            }
            try u.withUnsafeBufferPointer { u in
                try WinogradChannelsLast.convolve(x, u: u.baseAddress!, tile: tile, bias: b, residual: z, output: y,
                                                  outputStride: outputStride, batch: batch, channels: channels,
                                                  outputChannels: outputChannels, geometry: geometry,
                                                  activation: activation, context: context)
            }
            return
        }
        let direct = !depthwise && DirectConvolutionChannelsLast.applies(channels: channels, outputChannels: outputChannels,
                                                                                  geometry: geometry)
        guard storedWeightsPacked, !direct else {
            try computeChannelsLast(x, w, weightsPacked: storedWeightsPacked, b, z, y, outputStride: outputStride,
                                    batch: batch, channels: channels, outputChannels: outputChannels,
                                    geometry: geometry, depthwise: depthwise, direct: direct, context: context)
            return
        }
        // Packed for the direct kernel by the converting build, which this one does not run (or
        // which `KILN_DIRECT_CONVOLUTION=0` turned off): W back in ONNX's layout, once.
        guard let unpackedWeights, DirectConvolutionChannelsLast.supports(outputChannels: outputChannels, geometry: geometry) else {
            throw OperatorError("W is stored packed (\(PackWeightsPass.attributeName)), which needs a constant W and dilation 1")
        }
        let plain = try unpackedWeights.values(count: outputChannels * channels * geometry.kernelVolume) { plain in
            DirectConvolutionChannelsLast.unpackWeights(w, outputChannels: outputChannels, channels: channels,
                                                        kernelVolume: geometry.kernelVolume, into: plain)
        }
        try plain.withUnsafeBufferPointer { plain in
            try computeChannelsLast(x, plain.baseAddress!, weightsPacked: false, b, z, y, outputStride: outputStride,
                                    batch: batch, channels: channels, outputChannels: outputChannels,
                                    geometry: geometry, depthwise: depthwise, direct: false, context: context)
        }
    }

    /// The channels-last kernel chosen by the caller, with W in ONNX's layout (reordered for the
    /// kernel, cached when W is a constant) or, when `weightsPacked`, already in the direct kernel's.
    private func computeChannelsLast(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, weightsPacked: Bool,
                                     _ b: UnsafePointer<Float>?, _ z: UnsafePointer<Float>?,
                                     _ y: UnsafeMutablePointer<Float>, outputStride: Int, batch: Int, channels: Int,
                                     outputChannels: Int, geometry: SlidingWindowGeometry, depthwise: Bool,
                                     direct: Bool, context: ExecutionContext) throws {
        let count = depthwise ? DepthwiseChannelsLast.packedWeightFloats(channels: channels)
            : outputChannels * channels * geometry.kernelVolume
        // Local functions, not closure values: those cost a heap context per call.
        func pack(_ packed: UnsafeMutablePointer<Float>) {
            if depthwise {
                DepthwiseChannelsLast.packWeights(w, channels: channels, into: packed)
            } else if direct {
                let groups = DirectConvolutionChannelsLast.groupCount(outputChannels: outputChannels)
                context.parallelFor(groups) { range in
                    DirectConvolutionChannelsLast.packWeights(w, outputChannels: outputChannels, channels: channels,
                                                              kernelVolume: geometry.kernelVolume, groups: range,
                                                              into: packed)
                }
            } else {
                ChannelsLastGEMM.packWeights(w, outputChannels: outputChannels, channels: channels,
                                             kernelVolume: geometry.kernelVolume, inputChannelsLast: self.inputChannelsLast,
                                             into: packed)
            }
        }
        func run(_ packed: UnsafePointer<Float>) throws {
            if depthwise {
                try self.depthwiseChannelsLast(x, packed: packed, w, b, z, y, batch: batch, channels: channels,
                                               geometry: geometry, context: context)
            } else if direct {
                func convolve(widened: UnsafePointer<Float>?) throws {
                    try DirectConvolutionChannelsLast.convolve(x, inputChannelsLast: self.inputChannelsLast, weights: packed,
                                                               widenedLastGroup: widened, bias: b, residual: z, output: y,
                                                               outputStride: outputStride, batch: batch,
                                                               channels: channels, outputChannels: outputChannels,
                                                               geometry: geometry, activation: activation, context: context)
                }
                // A narrower last group of a constant W is widened once (copying it per run cost
                // MobileNetV2's 384 -> 96 layer 0.06 -> 0.11 ms).
                guard outputChannels % DirectConvolutionChannelsLast.channelGroup != 0, let cache = widenedLastGroup else {
                    try convolve(widened: nil)
                    return
                }
                let widened = try cache.values(count: geometry.kernelVolume * channels * DirectConvolutionChannelsLast.channelGroup) {
                    DirectConvolutionChannelsLast.widenLastGroup(packed, outputChannels: outputChannels, channels: channels,
                                                                 kernelVolume: geometry.kernelVolume, into: $0)
                }
                try widened.withUnsafeBufferPointer { try convolve(widened: $0.baseAddress) }
            } else {
                try ChannelsLastGEMM.convolve(x, inputChannelsLast: self.inputChannelsLast, weights: packed,
                                              storedWeights: w, bias: b, residual: z, output: y,
                                              outputStride: outputStride, batch: batch,
                                              channels: channels, outputChannels: outputChannels, geometry: geometry,
                                              activation: activation, context: context)
            }
        }
        if weightsPacked {
            try run(w)
        } else if let derivedWeights {
            let packed = try derivedWeights.values(count: count, compute: pack)
            try packed.withUnsafeBufferPointer { try run($0.baseAddress!) }
        } else {
            let packed = try KernelScratch.floats(rows: 1, columns: max(1, count), purpose: "channels-last weights")
            defer { KernelScratch.release(packed) }
            pack(packed)
            try run(packed)
        }
    }

    /// A convolution whose W the file stores as `tile`'s Winograd transform: read in place by the
    /// kernel, or, in a build without it (or with `KILN_WINOGRAD=0`), transformed back to ONNX's
    /// layout once and run on that build's channels-last kernels.
    private func computeStoredWinograd(_ x: UnsafePointer<Float>, _ u: UnsafePointer<Float>, tile: WinogradChannelsLast.Tile,
                                       _ b: UnsafePointer<Float>?, _ z: UnsafePointer<Float>?,
                                       _ y: UnsafeMutablePointer<Float>, outputStride: Int, batch: Int, channels: Int,
                                       outputChannels: Int, geometry: SlidingWindowGeometry,
                                       context: ExecutionContext) throws {
        if WinogradChannelsLast.isAvailable {
            try WinogradChannelsLast.convolve(x, u: u, tile: tile, bias: b, residual: z, output: y,
                                              outputStride: outputStride, batch: batch, channels: channels,
                                              outputChannels: outputChannels, geometry: geometry,
                                              activation: activation, context: context)
            return
        }
        guard let unpackedWeights,
              WinogradChannelsLast.supports(channels: channels, outputChannels: outputChannels, geometry: geometry) else {
            throw OperatorError("W is stored as a Winograd transform (\(PackWeightsPass.attributeName)), which needs a constant W and a 3x3 stride-1 convolution of a multiple of 16 channels and 64 output channels")
        }
        let plain = try unpackedWeights.values(count: outputChannels * channels * geometry.kernelVolume) { plain in
            WinogradChannelsLast.untransformWeights(u, tile: tile, channels: channels, outputChannels: outputChannels,
                                                    into: plain)
        }
        let direct = DirectConvolutionChannelsLast.applies(channels: channels, outputChannels: outputChannels,
                                                           geometry: geometry)
        try plain.withUnsafeBufferPointer { plain in
            try computeChannelsLast(x, plain.baseAddress!, weightsPacked: false, b, z, y, outputStride: outputStride,
                                    batch: batch, channels: channels, outputChannels: outputChannels,
                                    geometry: geometry, depthwise: false, direct: direct, context: context)
        }
    }

    private func depthwiseChannelsLast(_ x: UnsafePointer<Float>, packed: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                                       _ b: UnsafePointer<Float>?, _ z: UnsafePointer<Float>?,
                                       _ y: UnsafeMutablePointer<Float>, batch: Int, channels: Int,
                                       geometry: SlidingWindowGeometry, context: ExecutionContext) throws {
        let rowFloats = geometry.inputSize[1] * channels
        let zeroRow = try KernelScratch.floats(rows: 1, columns: max(1, rowFloats), purpose: "depthwise zero row")
        defer { KernelScratch.release(zeroRow) }
        zeroRow.update(repeating: 0, count: max(1, rowFloats))
        // A residual is added after the kernel, so the activation must wait for it.
        let kernelActivation = z == nil ? activation : nil
        let rows = batch * geometry.outputSize[0]
        let outputRowFloats = geometry.outputSize[1] * channels
        context.parallelFor(rows, minimumChunk: max(1, 8_192 / max(1, 9 * outputRowFloats))) { range in
            DepthwiseChannelsLast.convolve3x3(x, packedWeights: packed, weights: w, bias: b, channels: channels,
                                              geometry: geometry, activation: kernelActivation,
                                              zeroRow: zeroRow, rows: range, output: y)
            if let z {
                let start = range.lowerBound * outputRowFloats, count = range.count * outputRowFloats
                let block = y + start, residual = z + start
                for index in 0..<count { block[index] += residual[index] }
                self.activation?.apply(block, count: count)
            }
        }
    }

    enum WinogradVariant { case f2x2, f4x4 }

    /// Which Winograd variant, if any, runs a 3x3 stride-1 convolution faster than im2col + sgemm.
    /// F(2x2) measured on ResNet-18/50 layers (1 thread, CPU time): it saved 20-30% at 56x56, 28x28 and
    /// 14x14 (49+ tiles per image) and lost 10-25% at 7x7 (16 tiles), where the products are too
    /// narrow for sgemm to run well. F(4x4) cuts the products 4x instead of 2.25x but needs enough
    /// 4x4 tiles for the same reason. `KILN_WINOGRAD=0` turns Winograd off, `KILN_WINOGRAD=2`
    /// keeps only F(2x2) (for comparing the paths).
    ///
    /// The Winograd products are `channels` deep, where im2col's are `9 x channels`: below
    /// ``minimumWinogradChannels`` input channels sgemm runs them too far below its peak for the 4x
    /// saving to pay for the transforms.
    static func winogradVariant(batch: Int, channels: Int, outputChannels: Int,
                                geometry: SlidingWindowGeometry) -> WinogradVariant? {
        guard winogradMode != "0", channels >= minimumWinogradChannels, outputChannels >= 8 else { return nil }
        let height = geometry.outputSize[0], width = geometry.outputSize[1]
        if winogradMode != "2" && batch * ((height + 3) / 4) * ((width + 3) / 4) >= minimumTiles { return .f4x4 }
        return batch * ((height + 1) / 2) * ((width + 1) / 2) >= minimumTiles ? .f2x2 : nil
    }

    /// Measured on SqueezeNet's expand3x3 layers at 2 threads (AMD EPYC Zen 5): with OpenBLAS's
    /// AVX-512 kernels, im2col + sgemm took 0.21 ms where F(4x4) took 0.33 at 16 channels (55x55),
    /// 0.21 against 0.28 at 32 (27x27), and tied at 48 and 64 (13x13); with its AVX2 (Haswell)
    /// kernels the two tied at 16 and 32 and F(4x4) won by about 8% at 48 and 64. ResNet's 3x3
    /// layers (64 channels and up) gain 20-40% from it on both.
    /// `KILN_WINOGRAD_MIN_CHANNELS` overrides it (for measuring).
    package static let minimumWinogradChannels = ProcessInfo.processInfo.environment["KILN_WINOGRAD_MIN_CHANNELS"].flatMap { Int($0) } ?? 48

    /// `KILN_WINOGRAD_MIN_TILES` overrides it (for measuring).
    private static let minimumTiles = ProcessInfo.processInfo.environment["KILN_WINOGRAD_MIN_TILES"].flatMap { Int($0) } ?? 32
    private static let winogradMode = ProcessInfo.processInfo.environment["KILN_WINOGRAD"]
}

/// Weights derived once from a constant weight tensor and shared by every run of a session
/// (computed by the first run that asks; later runs read them without recomputing).
package final class TransformedWeightsCache: Sendable {
    private let storage = Mutex<[Float]?>(nil)

    package init() {}

    /// The cached values, computed by `compute` (which fills `count` floats) on first use.
    package func values(count: Int, compute: (UnsafeMutablePointer<Float>) -> Void) throws -> [Float] {
        try storage.withLock { cached in
            if let cached, cached.count == count { return cached }
            guard count <= KernelScratch.maximumFloats else {
                throw OperatorError("the transformed weights of \(count) floats are too large")
            }
            let values = [Float](unsafeUninitializedCapacity: max(1, count)) { buffer, initialized in
                compute(buffer.baseAddress!)
                initialized = max(1, count)
            }
            cached = values
            return values
        }
    }
}

/// A Conv node's last ``Conv/RunShape`` with the shapes of X, W and B it came from. Steady-state runs
/// see the same shapes every time, and working the sizes out again built the geometry's arrays
/// afresh: about 15 small heap allocations per call (`Scripts/count-mallocs.sh`: ResNet-50 981 per
/// run, twice ONNX Runtime's 431). The sizes depend on nothing but those shapes and the node.
final class LastRunShape: Sendable {
    private struct Entry {
        let input: [Int], weights: [Int], bias: [Int]?
        let shape: Conv.RunShape
    }

    private let entry = Mutex<Entry?>(nil)

    func shape(input: [Int], weights: [Int], bias: [Int]?,
               orWorkOut workOut: () throws -> Conv.RunShape) throws -> Conv.RunShape {
        let cached = entry.withLock { entry -> Conv.RunShape? in
            guard let entry, entry.input == input, entry.weights == weights, entry.bias == bias else { return nil }
            return entry.shape
        }
        if let cached { return cached }
        let shape = try workOut()
        entry.withLock { $0 = Entry(input: input, weights: weights, bias: bias, shape: shape) }
        return shape
    }
}
