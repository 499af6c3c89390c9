/// `Slice`: a strided sub-tensor, numpy style. From opset 10 `starts`, `ends`, `axes` and `steps` are
/// int32 or int64 inputs (axes and steps optional); before that `starts`, `ends` and `axes` are
/// attributes. Negative starts/ends count from the end; out-of-range values (including the
/// INT64_MAX / INT64_MIN "to the end" sentinels) are clamped; negative steps walk backwards.
package struct SliceOperator: Operator {
    package static let opType = "Slice"

    /// Opset < 10 attributes.
    let attributes: (starts: [Int], ends: [Int], axes: [Int]?)?

    package init(node: Node, opset: Int) throws {
        if opset < 10 {
            try node.expectArity(inputs: 1...1)
            guard let starts = try node.ints("starts"), let ends = try node.ints("ends") else {
                throw OperatorError("attributes 'starts' and 'ends' are required before opset 10")
            }
            attributes = (starts, ends, try node.ints("axes"))
        } else {
            try node.expectArity(inputs: 3...5)
            attributes = nil
        }
    }

    /// One sliced axis after resolution: the first index taken, the step, and how many are taken.
    struct AxisSlice: Equatable {
        var axis: Int
        var start: Int
        var step: Int
        var count: Int
    }

    /// Applies the ONNX rules to one axis of size `dim`.
    static func resolve(dim: Int, start: Int, end: Int, step: Int) -> (start: Int, count: Int) {
        // Adding a non-negative dim to a negative value cannot overflow, and clamping comes next.
        var start = start < 0 ? start + dim : start
        var end = end < 0 ? end + dim : end
        if step > 0 {
            start = min(max(start, 0), dim)
            end = min(max(end, 0), dim)
            // Written so that no step, however large, overflows.
            return (start, end > start ? (end - start - 1) / step + 1 : 0)
        }
        start = min(max(start, 0), dim - 1)
        end = min(max(end, -1), dim - 1)
        let magnitude = step == Int.min ? Int.max : -step
        return (start, start > end ? (start - end - 1) / magnitude + 1 : 0)
    }

    /// Checks the slice parameters against each other and `rank`; returns axes resolved to
    /// `0..<rank` and the steps (default 1).
    static func validate(starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?, rank: Int) throws -> (axes: [Int], steps: [Int]) {
        guard starts.count == ends.count else {
            throw OperatorError("starts has \(starts.count) values, ends has \(ends.count)")
        }
        if let axes, axes.count != starts.count {
            throw OperatorError("axes has \(axes.count) values, starts has \(starts.count)")
        }
        if let steps, steps.count != starts.count {
            throw OperatorError("steps has \(steps.count) values, starts has \(starts.count)")
        }
        guard axes != nil || starts.count <= rank else {
            throw OperatorError("starts has \(starts.count) values but the input has rank \(rank)")
        }
        let resolvedAxes = try IndexValues.normalizeAxes(axes ?? Array(0..<starts.count), rank: rank)
        let steps = steps ?? [Int](repeating: 1, count: starts.count)
        if let zero = steps.firstIndex(of: 0) { throw OperatorError("steps value 0 at position \(zero) is invalid") }
        return (resolvedAxes, steps)
    }

    static func slices(shape: [Int], starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?) throws -> [AxisSlice] {
        let (resolvedAxes, resolvedSteps) = try validate(starts: starts, ends: ends, axes: axes, steps: steps, rank: shape.count)
        var result = shape.indices.map { AxisSlice(axis: $0, start: 0, step: 1, count: shape[$0]) }
        for position in starts.indices {
            let axis = resolvedAxes[position], step = resolvedSteps[position]
            let (start, count) = resolve(dim: shape[axis], start: starts[position], end: ends[position], step: step)
            result[axis] = AxisSlice(axis: axis, start: start, step: step, count: count)
        }
        return result
    }

    /// What inference knows of the slice parameters: a list is nil when its input is not constant.
    private struct KnownParameters {
        var starts: [Int]?
        var ends: [Int]?
        var axesGiven: Bool
        var axes: [Int]?
        var stepsGiven: Bool
        var steps: [Int]?

        var axesKnown: Bool { !axesGiven || axes != nil }
        var stepsKnown: Bool { !stepsGiven || steps != nil }
    }

    private func knownParameters(_ inputs: [InferenceInput]) throws -> KnownParameters {
        if let attributes {
            return KnownParameters(starts: attributes.starts, ends: attributes.ends, axesGiven: attributes.axes != nil,
                                   axes: attributes.axes, stepsGiven: false, steps: nil)
        }
        for (index, name) in [(1, "starts"), (2, "ends"), (3, "axes"), (4, "steps")] {
            try IndexValues.requireIntegerType(inputs, index, name: name)
        }
        let axesGiven = OperatorInput.isPresent(inputs, 3)
        let stepsGiven = OperatorInput.isPresent(inputs, 4)
        return KnownParameters(starts: inputs[1].constantIntegers, ends: inputs[2].constantIntegers,
                               axesGiven: axesGiven, axes: axesGiven ? inputs[3].constantIntegers : nil,
                               stepsGiven: stepsGiven, steps: stepsGiven ? inputs[4].constantIntegers : nil)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        guard let shape = data.shape else { return [TensorType(data.dtype, nil)] }
        let known = try knownParameters(inputs)
        guard known.axesKnown, let count = known.starts?.count ?? known.axes?.count ?? IndexValues.staticLength(inputs, 1) else {
            // Which axes are sliced is unknown: every dim may change.
            return [TensorType(data.dtype, shape.map { _ in symbols.fresh() })]
        }
        guard let starts = known.starts, let ends = known.ends, known.stepsKnown else {
            let axes = try IndexValues.normalizeAxes(known.axes ?? Array(0..<min(count, shape.count)), rank: shape.count)
            var output = shape
            for axis in axes { output[axis] = symbols.fresh() }
            return [TensorType(data.dtype, output)]
        }
        let (axes, steps) = try SliceOperator.validate(starts: starts, ends: ends, axes: known.axes, steps: known.steps,
                                                       rank: shape.count)
        var output = shape
        for position in starts.indices {
            let axis = axes[position], step = steps[position]
            switch shape[axis] {
            case .fixed(let dim):
                output[axis] = .fixed(SliceOperator.resolve(dim: dim, start: starts[position], end: ends[position], step: step).count)
            case .symbolic:
                output[axis] = SliceOperator.takesWholeAxis(start: starts[position], end: ends[position], step: step)
                    ? shape[axis] : symbols.fresh()
            }
        }
        return [TensorType(data.dtype, output)]
    }

    /// True when the slice keeps a whole axis of any size in order: start 0, step 1 and an end at or
    /// beyond any real size (exporters write INT64_MAX or INT32_MAX).
    static func takesWholeAxis(start: Int, end: Int, step: Int) -> Bool {
        step == 1 && (start == 0 || start <= Int(Int32.min)) && end >= Int(Int32.max)
    }

    package func symbolicValues(_ inputs: [InferenceInput]) -> [[Dim]?] {
        // Slicing a shape vector, e.g. `x.shape[:-1]`.
        guard let value = inputs.first?.symbolicValue, inputs.first?.type?.shape?.count == 1,
              let known = try? knownParameters(inputs), let starts = known.starts, let ends = known.ends,
              known.axesKnown, known.stepsKnown,
              let slices = try? SliceOperator.slices(shape: [value.count], starts: starts, ends: ends, axes: known.axes, steps: known.steps)
        else { return [] }
        let slice = slices[0]
        return [(0..<slice.count).map { value[slice.start + $0 * slice.step] }]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "data")
        let starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?
        if let attributes {
            (starts, ends, axes, steps) = (attributes.starts, attributes.ends, attributes.axes, nil)
        } else {
            let startsTensor = try OperatorInput.required(inputs, 1, name: "starts")
            let endsTensor = try OperatorInput.required(inputs, 2, name: "ends")
            starts = try IndexValues.integers(startsTensor, name: "starts")
            ends = try IndexValues.integers(endsTensor, name: "ends")
            guard startsTensor.dtype == endsTensor.dtype else {
                throw OperatorError("starts is \(startsTensor.dtype) but ends is \(endsTensor.dtype)")
            }
            axes = try OperatorInput.optional(inputs, 3).map { try IndexValues.integers($0, name: "axes") }
            steps = try OperatorInput.optional(inputs, 4).map { try IndexValues.integers($0, name: "steps") }
        }
        let slices = try SliceOperator.slices(shape: data.shape, starts: starts, ends: ends, axes: axes, steps: steps)
        let outputShape = slices.map(\.count)
        if outputShape == data.shape && slices.allSatisfy({ $0.step == 1 }) { return [data] }
        let output = try Tensor.uninitialized(data.dtype, shape: outputShape)
        guard output.count > 0 else { return [output] }
        let inputStrides = ShapeArithmetic.strides(data.shape)
        let firstElement = slices.reduce(0) { $0 + $1.start * inputStrides[$1.axis] }
        // With two or more elements taken, step * stride stays inside the axis and cannot overflow.
        let sourceStrides = slices.map { $0.count > 1 ? $0.step * inputStrides[$0.axis] : 0 }
        let size = data.dtype.byteSize
        data.withUnsafePointer(as: UInt8.self) { source in
            output.withUnsafeMutablePointer(as: UInt8.self) { destination in
                StridedCopy.copy(shape: outputShape, source: source + firstElement * size, sourceStrides: sourceStrides,
                                 destination: destination, destinationStrides: ShapeArithmetic.strides(outputShape),
                                 elementSize: size, context: context)
            }
        }
        return [output]
    }
}
