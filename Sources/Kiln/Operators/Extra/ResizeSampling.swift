/// Where each output coordinate of `Resize` and `Upsample` reads from, per axis. Interpolation is
/// separable, so an N-D resize is a sequence of 1-D resizes, one per resized axis; this type turns
/// the attributes into those 1-D sampling plans (coordinate transformation, nearest rounding,
/// linear or cubic taps and weights, antialiasing, `exclude_outside`, extrapolation).
package struct ResizeSampling: Sendable, Equatable {
    package enum Mode: String, Sendable {
        case nearest, linear, cubic
    }

    /// How an output coordinate maps back onto the input axis (ONNX `coordinate_transformation_mode`).
    package enum CoordinateTransformation: String, Sendable {
        case halfPixel = "half_pixel"
        case halfPixelSymmetric = "half_pixel_symmetric"
        case pytorchHalfPixel = "pytorch_half_pixel"
        case alignCorners = "align_corners"
        case asymmetric
        case tfHalfPixelForNN = "tf_half_pixel_for_nn"
        case tfCropAndResize = "tf_crop_and_resize"
    }

    /// How `nearest` mode picks an input index from a fractional coordinate.
    package enum NearestRounding: String, Sendable {
        case roundPreferFloor = "round_prefer_floor"
        case roundPreferCeil = "round_prefer_ceil"
        case floor, ceil
        /// `Upsample` and `Resize` before opset 11, as ONNX Runtime runs them: round down when
        /// enlarging an axis, up when shrinking it.
        case legacy
    }

    package var mode: Mode
    package var coordinates: CoordinateTransformation
    package var nearest: NearestRounding
    package var cubicCoefficient: Double
    package var excludeOutside: Bool
    package var antialias: Bool
    package var extrapolationValue: Float

    package init(mode: Mode, coordinates: CoordinateTransformation, nearest: NearestRounding,
                 cubicCoefficient: Double = -0.75, excludeOutside: Bool = false, antialias: Bool = false,
                 extrapolationValue: Float = 0) {
        self.mode = mode
        self.coordinates = coordinates
        self.nearest = nearest
        self.cubicCoefficient = cubicCoefficient
        self.excludeOutside = excludeOutside
        self.antialias = antialias
        self.extrapolationValue = extrapolationValue
    }

    /// The sampling of one axis.
    package struct AxisPlan: Sendable, Equatable {
        package var inputLength: Int
        package var outputLength: Int
        /// Taps per output position (1 for nearest).
        package var taps: Int
        /// `outputLength * taps` input indices, each within `0..<inputLength`; -1 (nearest only)
        /// marks an extrapolated position.
        package var indices: [Int]
        /// `outputLength * taps` weights (empty for nearest).
        package var weights: [Float]
        /// Output positions that take the extrapolation value (`tf_crop_and_resize` outside the input).
        package var extrapolated: [Bool]

        /// True when the plan copies the axis unchanged.
        package var isIdentity: Bool {
            guard inputLength == outputLength, !extrapolated.contains(true) else { return false }
            for position in 0..<outputLength {
                for tap in 0..<taps {
                    let index = indices[position * taps + tap]
                    let weight = weights.isEmpty ? 1 : weights[position * taps + tap]
                    if weight != 0 && (index != position || weight != 1) { return false }
                }
            }
            return true
        }
    }

    /// The input coordinate output position `position` maps to.
    ///
    /// The arithmetic is float32, as ONNX Runtime does it: a coordinate that lands on an integer
    /// there (1.5 / 0.6 - 0.5 = 2) must pick the same nearest pixel here.
    /// - Parameters:
    ///   - scale: The axis's scale factor (given, or output size / input size).
    ///   - resizedLength: The output length the formulas use: `input * scale` when scales are
    ///     given (fractional, as the ONNX reference and backend tests take it), else the size.
    ///   - outputLength: The integer output length.
    ///   - roi: The normalized crop window, used by `tf_crop_and_resize` only.
    package func sourceCoordinate(_ position: Int, inputLength: Int, outputLength: Int, resizedLength: Double,
                                  scale: Double, roi: (start: Double, end: Double)) -> Double {
        let y = Float(position), input = Float(inputLength), scale = Float(scale), width = Float(resizedLength)
        let x: Float
        switch coordinates {
        case .halfPixel: x = (y + 0.5) / scale - 0.5
        case .halfPixelSymmetric:
            let adjustment = Float(outputLength) / width
            let offset = input / 2 * (1 - adjustment)
            x = offset + (y + 0.5) / scale - 0.5
        case .pytorchHalfPixel: x = width > 1 ? (y + 0.5) / scale - 0.5 : 0
        case .alignCorners: x = width == 1 ? 0 : y * (input - 1) / (width - 1)
        case .asymmetric: x = y / scale
        case .tfHalfPixelForNN: x = (y + 0.5) / scale
        case .tfCropAndResize:
            let start = Float(roi.start), end = Float(roi.end)
            x = width > 1 ? start * (input - 1) + y * (end - start) * (input - 1) / (width - 1)
                : 0.5 * (start + end) * (input - 1)
        }
        return Double(x)
    }

    /// The 1-D sampling plan of an axis.
    /// - Parameter resizedLength: See ``sourceCoordinate(_:inputLength:outputLength:resizedLength:scale:roi:)``;
    ///   nil means `outputLength`.
    package func plan(inputLength: Int, outputLength: Int, scale: Double, resizedLength: Double? = nil,
                      roi: (start: Double, end: Double) = (0, 1)) -> AxisPlan {
        let taps = outputLength == 0 ? 1 : tapCount(scale: scale, inputLength: inputLength)
        var plan = AxisPlan(inputLength: inputLength, outputLength: outputLength, taps: taps,
                            indices: [Int](repeating: 0, count: outputLength * taps),
                            weights: mode == .nearest ? [] : [Float](repeating: 0, count: outputLength * taps),
                            extrapolated: [Bool](repeating: false, count: outputLength))
        guard inputLength > 0 else { return plan }
        let last = inputLength - 1
        var weights = [Double](repeating: 0, count: taps)
        for position in 0..<outputLength {
            let exact = sourceCoordinate(position, inputLength: inputLength, outputLength: outputLength,
                                         resizedLength: resizedLength ?? Double(outputLength), scale: scale, roi: roi)
            if coordinates == .tfCropAndResize && !(exact >= 0 && exact <= Double(last)) {
                plan.extrapolated[position] = true
                if mode == .nearest { plan.indices[position] = -1 }
                continue
            }
            // Beyond a few taps past either end every tap clamps to the edge, so clamping the
            // coordinate there changes nothing and keeps the integer conversions in range.
            let bound = Double(taps + 2)
            let x = exact.isNaN ? 0 : min(max(exact, -bound), Double(last) + bound)
            if mode == .nearest {
                plan.indices[position] = min(max(nearestIndex(x, scale: scale), 0), last)
                continue
            }
            // The taps straddle x; at an integer x the lower neighbour is x - 1 (weight 0 for linear).
            let base = Int(x.rounded(.up)) - 1
            let first = base - taps / 2 + 1
            let stretch = antialias ? min(scale, 1) : 1
            var total = 0.0
            for tap in 0..<taps {
                let index = first + tap
                var weight = filter((Double(index) - x) * stretch)
                if excludeOutside && (index < 0 || index > last) { weight = 0 }
                weights[tap] = weight
                total += weight
            }
            let normalize = (antialias || excludeOutside) && total != 0
            for tap in 0..<taps {
                plan.indices[position * taps + tap] = min(max(first + tap, 0), last)
                plan.weights[position * taps + tap] = Float(normalize ? weights[tap] / total : weights[tap])
            }
        }
        return plan
    }

    /// Taps per output position: 2 (linear) or 4 (cubic), widened by 1 / scale when antialiasing a
    /// shrinking axis.
    private func tapCount(scale: Double, inputLength: Int) -> Int {
        guard mode != .nearest else { return 1 }
        let support: Double = mode == .linear ? 1 : 2
        guard antialias && scale < 1 else { return 2 * Int(support) }
        // A non-empty output has scale >= 1 / (2 * inputLength) (sizes round halves up), so the
        // reach never exceeds this bound in practice; the bound keeps absurd scales from overflowing.
        let reach = min(support / scale, 4 * Double(inputLength) + 8)
        return -2 * Int((-reach).rounded(.down))
    }

    /// The interpolation kernel at signed distance `distance` from the sample point.
    private func filter(_ distance: Double) -> Double {
        let d = abs(distance)
        switch mode {
        case .nearest: return d < 0.5 ? 1 : 0
        case .linear: return max(0, 1 - d)
        case .cubic:
            let a = cubicCoefficient
            if d <= 1 { return ((a + 2) * d - (a + 3)) * d * d + 1 }
            if d < 2 { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a }
            return 0
        }
    }

    private func nearestIndex(_ x: Double, scale: Double) -> Int {
        let lower = x.rounded(.down)
        guard x != lower else { return Int(x) }
        let fraction = x - lower
        switch nearest {
        case .roundPreferFloor: return Int(fraction <= 0.5 ? lower : lower + 1)
        case .roundPreferCeil: return Int(fraction < 0.5 ? lower : lower + 1)
        case .floor: return Int(lower)
        case .ceil: return Int(lower + 1)
        case .legacy: return Int(scale < 1 ? lower + 1 : lower)
        }
    }
}

extension ResizeSampling {
    /// Output sizes and per-axis scales of a resize of `inputShape`.
    package struct Target: Sendable, Equatable {
        package var outputShape: [Int]
        /// One scale per axis (1 for axes not resized).
        package var scales: [Double]
        /// The output length each axis's coordinate formulas use: `input * scale` (fractional) when
        /// scales were given, the integer size otherwise.
        package var resizedLengths: [Double]
        /// One normalized crop window per axis (`(0, 1)` unless `tf_crop_and_resize` gives one).
        package var roi: [(start: Double, end: Double)]

        package static func == (lhs: Target, rhs: Target) -> Bool {
            lhs.outputShape == rhs.outputShape && lhs.scales == rhs.scales && lhs.resizedLengths == rhs.resizedLengths
                && lhs.roi.map(\.start) == rhs.roi.map(\.start) && lhs.roi.map(\.end) == rhs.roi.map(\.end)
        }
    }

    /// `keep_aspect_ratio_policy` of `Resize` (opset 18).
    package enum AspectRatioPolicy: String, Sendable {
        case stretch
        case notLarger = "not_larger"
        case notSmaller = "not_smaller"
    }

    /// Resolves `scales` or `sizes` (exactly one given, one entry per axis in `axes`) against the
    /// input's shape: `floor(size * scale)` for scales; `sizes` as given (`stretch`), or scaled
    /// uniformly to fit inside (`not_larger`) or cover (`not_smaller`) them, rounding halves up.
    package static func target(inputShape: [Int], axes: [Int], scales: [Float]?, sizes: [Int]?, roi: [Float]?,
                               policy: AspectRatioPolicy) throws -> Target {
        let rank = inputShape.count
        var target = Target(outputShape: inputShape, scales: [Double](repeating: 1, count: rank),
                            resizedLengths: inputShape.map(Double.init), roi: [(start: Double, end: Double)](repeating: (0, 1), count: rank))
        if let roi {
            guard roi.count == 2 * axes.count else {
                throw OperatorError("roi has \(roi.count) values, expected \(2 * axes.count) (start and end for each of \(axes.count) axes)")
            }
            for (position, axis) in axes.enumerated() {
                target.roi[axis] = (Double(roi[position]), Double(roi[axes.count + position]))
            }
        }
        switch (scales, sizes) {
        case (let scales?, nil):
            guard scales.count == axes.count else {
                throw OperatorError("scales has \(scales.count) values, expected \(axes.count) (one per resized axis)")
            }
            for (position, axis) in axes.enumerated() {
                let scale = Double(scales[position])
                guard scale > 0, scale.isFinite else { throw OperatorError("scales must be positive and finite, got \(scales)") }
                let size = (Double(inputShape[axis]) * scale).rounded(.down)
                guard size < Double(1 << 40) else { throw OperatorError("scale \(scales[position]) makes axis \(axis) too large") }
                target.scales[axis] = scale
                target.resizedLengths[axis] = Double(Float(inputShape[axis]) * scales[position])
                target.outputShape[axis] = Int(size)
            }
        case (nil, let sizes?):
            guard sizes.count == axes.count else {
                throw OperatorError("sizes has \(sizes.count) values, expected \(axes.count) (one per resized axis)")
            }
            for (position, axis) in axes.enumerated() {
                guard sizes[position] >= 0 else { throw OperatorError("sizes must not be negative, got \(sizes)") }
                guard inputShape[axis] > 0 || sizes[position] == 0 else {
                    throw OperatorError("axis \(axis) is empty and cannot be resized to \(sizes[position])")
                }
                // A float32 quotient, as ONNX Runtime computes it.
                target.scales[axis] = inputShape[axis] == 0 ? 1 : Double(Float(sizes[position]) / Float(inputShape[axis]))
                target.outputShape[axis] = sizes[position]
                target.resizedLengths[axis] = Double(sizes[position])
            }
            if policy != .stretch, !axes.isEmpty {
                let chosen = axes.map { target.scales[$0] }
                let scale = (policy == .notLarger ? chosen.min() : chosen.max()) ?? 1
                for axis in axes {
                    target.scales[axis] = scale
                    let size = (scale * Double(inputShape[axis]) + 0.5).rounded(.down)
                    guard size < Double(1 << 40) else { throw OperatorError("sizes make axis \(axis) too large") }
                    target.outputShape[axis] = Int(size)
                    target.resizedLengths[axis] = size
                }
            }
        case (nil, nil): throw OperatorError("one of scales and sizes must be given")
        case (.some, .some): throw OperatorError("only one of scales and sizes may be given")
        }
        _ = try IndexValues.elementCount(target.outputShape)
        return target
    }

    /// The per-axis sampling plans for `target`.
    package func plans(inputShape: [Int], target: Target) -> [AxisPlan] {
        inputShape.indices.map { axis in
            plan(inputLength: inputShape[axis], outputLength: target.outputShape[axis], scale: target.scales[axis],
                 resizedLength: target.resizedLengths[axis], roi: target.roi[axis])
        }
    }

    /// Resizes `input` to `target`. Nearest mode moves elements of any dtype; linear and cubic
    /// interpolate float32 (float16 through float32).
    package func resize(_ input: Tensor, to target: Target, context: ExecutionContext) throws -> Tensor {
        // An empty output needs no plans (and one axis of it may be huge).
        guard try IndexValues.elementCount(target.outputShape) > 0 else {
            return try Tensor.uninitialized(input.dtype, shape: target.outputShape)
        }
        let plans = plans(inputShape: input.shape, target: target)
        if plans.allSatisfy(\.isIdentity) { return input }
        if mode == .nearest {
            let output = try Tensor.uninitialized(input.dtype, shape: target.outputShape)
            guard output.count > 0 else { return output }
            let fill = ScalarTensor.make(Double(extrapolationValue), dtype: input.dtype)
            try input.withUnsafeBytes { source in
                try fill.withUnsafeBytes { value in
                    guard let sourceBase = source.baseAddress, let valueBase = value.baseAddress else {
                        throw OperatorError("cannot resize an empty input to shape \(target.outputShape)")
                    }
                    output.withUnsafeMutablePointer(as: UInt8.self) { destination in
                        AxisMapCopy.copy(source: sourceBase, sourceShape: input.shape, maps: plans.map(\.indices),
                                         destination: destination, fill: valueBase, elementSize: input.dtype.byteSize,
                                         context: context)
                    }
                }
            }
            return output
        }
        guard input.dtype.isFloatingPoint else {
            throw OperatorError("\(mode.rawValue) resizing supports float32 and float16, got \(input.dtype); only nearest moves other types")
        }
        var current = input.dtype == .float32 ? input : try Tensor(shape: input.shape, scalars: input.floats())
        for (axis, plan) in plans.enumerated() where !plan.isIdentity {
            var shape = current.shape
            shape[axis] = plan.outputLength
            let next = try Tensor.uninitialized(.float32, shape: shape)
            if next.count > 0 {
                guard current.count > 0 else { throw OperatorError("cannot resize an empty input to shape \(target.outputShape)") }
                let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
                let extrapolation = extrapolationValue
                current.withUnsafePointer(as: Float.self) { source in
                    next.withUnsafeMutablePointer(as: Float.self) { destination in
                        let work = max(1, plan.inputLength * inner + plan.outputLength * inner * plan.taps)
                        context.parallelFor(outer, minimumChunk: max(1, 32_768 / work)) { blocks in
                            ResizeKernels.resizeAxis(source, destination, blocks: blocks, inner: inner, plan: plan,
                                                     extrapolationValue: extrapolation)
                        }
                    }
                }
            }
            current = next
        }
        if input.dtype == .float16 { return try Tensor(shape: current.shape, scalars: current.floats().map { Float16($0) }) }
        return current
    }
}
