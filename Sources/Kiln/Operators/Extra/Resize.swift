/// `Resize` (opsets 10 through 19): resizes `X` by `scales` or to `sizes` with nearest, linear
/// (N-linear) or cubic interpolation; see ``ResizeSampling`` for the sampling.
///
/// Opset 10 takes `[X, scales]` and samples as `Upsample` does (asymmetric coordinates); opset 11
/// on takes `[X, roi, scales, sizes]` with every `coordinate_transformation_mode` (including
/// `tf_crop_and_resize` with `roi` and `extrapolation_value`), `nearest_mode`, `cubic_coeff_a` and
/// `exclude_outside`; opset 18 adds `axes`, `antialias` and `keep_aspect_ratio_policy`. Nearest
/// mode works on every dtype; linear and cubic on float32 and float16.
package struct Resize: Operator {
    package static let opType = "Resize"

    package let sampling: ResizeSampling
    package let axes: [Int]?
    package let policy: ResizeSampling.AspectRatioPolicy
    /// Input positions of `roi`, `scales` and `sizes` (nil where the opset has no such input).
    private let roiInput: Int?, scalesInput: Int, sizesInput: Int?

    package init(node: Node, opset: Int) throws {
        let modeName = try node.string("mode", default: "nearest")
        guard let mode = ResizeSampling.Mode(rawValue: modeName) else {
            throw OperatorError("mode must be nearest, linear or cubic, got '\(modeName)'")
        }
        if opset < 11 {
            try node.expectArity(inputs: 2...2)
            guard mode != .cubic else { throw OperatorError("cubic mode needs opset 11 or later") }
            sampling = ResizeSampling(mode: mode, coordinates: .asymmetric, nearest: .legacy)
            (roiInput, scalesInput, sizesInput) = (nil, 1, nil)
            axes = nil
            policy = .stretch
            return
        }
        try node.expectArity(inputs: 1...4)
        (roiInput, scalesInput, sizesInput) = (1, 2, 3)
        let coordinateName = try node.string("coordinate_transformation_mode", default: "half_pixel")
        guard let coordinates = ResizeSampling.CoordinateTransformation(rawValue: coordinateName) else {
            throw OperatorError("coordinate_transformation_mode '\(coordinateName)' is not one of half_pixel, half_pixel_symmetric, pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn, tf_crop_and_resize")
        }
        let nearestName = try node.string("nearest_mode", default: "round_prefer_floor")
        guard let nearest = ResizeSampling.NearestRounding(rawValue: nearestName), nearest != .legacy else {
            throw OperatorError("nearest_mode must be round_prefer_floor, round_prefer_ceil, floor or ceil, got '\(nearestName)'")
        }
        let policyName = try node.string("keep_aspect_ratio_policy", default: "stretch")
        guard let policy = ResizeSampling.AspectRatioPolicy(rawValue: policyName) else {
            throw OperatorError("keep_aspect_ratio_policy must be stretch, not_larger or not_smaller, got '\(policyName)'")
        }
        self.policy = policy
        axes = try node.ints("axes")
        sampling = ResizeSampling(
            mode: mode, coordinates: coordinates, nearest: nearest,
            cubicCoefficient: Double(try node.float("cubic_coeff_a", default: -0.75)),
            excludeOutside: try node.int("exclude_outside", default: 0) != 0,
            antialias: try node.int("antialias", default: 0) != 0 && mode != .nearest,
            extrapolationValue: try node.float("extrapolation_value", default: 0))
    }

    private func resolvedAxes(rank: Int) throws -> [Int] {
        guard let axes else { return Array(0..<rank) }
        return try IndexValues.normalizeAxes(axes, rank: rank)
    }

    /// The scales, sizes and roi values from tensors (empty tensors count as absent, as exports
    /// write an empty `scales` next to `sizes`).
    private func parameters(roi: Tensor?, scales: Tensor?, sizes: Tensor?) throws -> (scales: [Float]?, sizes: [Int]?, roi: [Float]?) {
        var scaleValues: [Float]?
        if let scales, scales.count > 0 {
            guard scales.dtype == .float32, scales.rank == 1 else {
                throw OperatorError("scales must be a 1-D float32 tensor, got \(scales.dtype) \(scales.shape)")
            }
            scaleValues = try scales.scalars(as: Float.self)
        }
        var sizeValues: [Int]?
        if let sizes, sizes.count > 0 {
            guard sizes.dtype == .int64 else { throw OperatorError("sizes must be int64, got \(sizes.dtype)") }
            sizeValues = try IndexValues.integers(sizes, name: "sizes")
        }
        var roiValues: [Float]?
        if sampling.coordinates == .tfCropAndResize, let roi, roi.count > 0 {
            guard roi.dtype.isFloatingPoint, roi.rank == 1 else {
                throw OperatorError("roi must be a 1-D float tensor, got \(roi.dtype) \(roi.shape)")
            }
            roiValues = roi.floats()
        }
        return (scaleValues, sizeValues, roiValues)
    }

    private func tensor(_ inputs: [Tensor?], _ index: Int?) -> Tensor? {
        index.flatMap { OperatorInput.optional(inputs, $0) }
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        if sampling.mode != .nearest, !input.dtype.isFloatingPoint {
            throw OperatorError("\(sampling.mode.rawValue) resizing supports float32 and float16, got \(input.dtype)")
        }
        guard let shape = input.shape else { return [TensorType(input.dtype, nil)] }
        let axes = try resolvedAxes(rank: shape.count)
        func constant(_ index: Int?) -> (present: Bool, value: Tensor?) {
            guard let index, OperatorInput.isPresent(inputs, index) else { return (false, nil) }
            if let value = inputs[index].constant { return (value.count > 0, value) }
            if let length = IndexValues.staticLength(inputs, index), length == 0 { return (false, nil) }
            return (true, nil)
        }
        let scales = constant(scalesInput), sizes = constant(sizesInput), roi = constant(roiInput)
        let known = (!scales.present || scales.value != nil) && (!sizes.present || sizes.value != nil)
            && (!roi.present || roi.value != nil || sampling.coordinates != .tfCropAndResize)
        var output = shape
        for axis in axes { output[axis] = symbols.fresh() }
        guard known else { return [TensorType(input.dtype, output)] }
        let values = try parameters(roi: roi.value, scales: scales.value, sizes: sizes.value)
        guard (values.scales == nil) != (values.sizes == nil) else {
            throw OperatorError(values.scales == nil ? "one of scales and sizes must be given" : "only one of scales and sizes may be given")
        }
        let count = values.scales?.count ?? values.sizes?.count ?? axes.count
        guard count == axes.count else {
            throw OperatorError("\(values.scales == nil ? "sizes" : "scales") has \(count) values, expected \(axes.count) (one per resized axis)")
        }
        if let concrete = TensorType(input.dtype, shape).concreteShape {
            let target = try ResizeSampling.target(inputShape: concrete, axes: axes, scales: values.scales, sizes: values.sizes,
                                                   roi: values.roi, policy: policy)
            return [TensorType(input.dtype, [Dim](target.outputShape))]
        }
        // Some dims are symbolic: each axis's size follows from its own dim, except under an aspect
        // ratio policy, which ties the resized axes together.
        for (position, axis) in axes.enumerated() {
            if let sizeValues = values.sizes {
                guard policy == .stretch else { break }
                guard sizeValues[position] >= 0 else { throw OperatorError("sizes must not be negative, got \(sizeValues)") }
                output[axis] = .fixed(sizeValues[position])
            } else if let scaleValues = values.scales {
                if scaleValues[position] == 1 {
                    output[axis] = shape[axis]
                } else if let size = shape[axis].value {
                    let target = try ResizeSampling.target(inputShape: [size], axes: [0], scales: [scaleValues[position]], sizes: nil,
                                                           roi: nil, policy: .stretch)
                    output[axis] = .fixed(target.outputShape[0])
                }
            }
        }
        return [TensorType(input.dtype, output)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let input = try OperatorInput.required(inputs, 0, name: "X")
        let values = try parameters(roi: tensor(inputs, roiInput), scales: tensor(inputs, scalesInput),
                                    sizes: tensor(inputs, sizesInput))
        let target = try ResizeSampling.target(inputShape: input.shape, axes: try resolvedAxes(rank: input.rank),
                                               scales: values.scales, sizes: values.sizes, roi: values.roi, policy: policy)
        return [try sampling.resize(input, to: target, context: context)]
    }
}
