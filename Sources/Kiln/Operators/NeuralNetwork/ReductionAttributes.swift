/// The attributes and evaluation shared by the `Reduce*` operators: `axes` (an attribute in older
/// opsets, an optional int64 input since opset 13 for `ReduceSum` and 18 for the others; both
/// forms are accepted at any opset), `keepdims` (default 1) and `noop_with_empty_axes` (default 0).
///
/// Without axes the reduction covers every axis, unless `noop_with_empty_axes` is set: then it
/// covers none, which reduces each element on its own (`ReduceSumSquare` still squares).
package struct ReductionAttributes: Sendable {
    package let keepDims: Bool
    package let noopWithEmptyAxes: Bool
    package let attributeAxes: [Int]?

    package init(node: Node) throws {
        try node.expectArity(inputs: 1...2)
        keepDims = try node.int("keepdims", default: 1) != 0
        noopWithEmptyAxes = try node.int("noop_with_empty_axes", default: 0) != 0
        attributeAxes = try node.ints("axes")
        if attributeAxes != nil && node.inputs.count > 1 && !node.inputs[1].isEmpty {
            throw OperatorError("axes is given both as an attribute and as an input")
        }
    }

    /// The axes to reduce, normalized, sorted and unique; `[]` reduces nothing.
    private func resolve(_ axes: [Int]?, rank: Int) throws -> [Int] {
        guard let axes, !axes.isEmpty else { return noopWithEmptyAxes ? [] : Array(0..<rank) }
        var seen = Set<Int>()
        for axis in axes {
            let resolved = try ShapeInference.normalizeAxis(axis, rank: rank)
            guard seen.insert(resolved).inserted else { throw OperatorError("axis \(axis) appears more than once in axes \(axes)") }
        }
        return seen.sorted()
    }

    private static func axesValues(_ tensor: Tensor) throws -> [Int] {
        guard tensor.dtype == .int64 || tensor.dtype == .int32 else {
            throw OperatorError("axes input must be int64, got \(tensor.dtype)")
        }
        guard tensor.rank <= 1 else { throw OperatorError("axes input must be 1-D, has shape \(tensor.shape)") }
        return tensor.int64s().map { Int($0) }
    }

    package func inferTypes(_ inputs: [InferenceInput], opType: String, symbols: inout SymbolGenerator) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        guard input.dtype == .float32 else { throw OperatorError("\(opType) supports float32, got \(input.dtype)") }
        let axesInput = inputs.count > 1 && inputs[1].isPresent ? inputs[1] : nil
        guard let shape = input.shape else { return [TensorType(.float32, nil)] }
        let axes: [Int]?
        if let axesInput {
            guard let constant = axesInput.constant else {
                // Axes only known at run time.
                if keepDims {
                    return [TensorType(.float32, shape.map { $0 == .fixed(1) ? $0 : symbols.fresh() })]
                }
                if let count = axesInput.type?.shape?.first?.value, count > 0, count <= shape.count {
                    return [TensorType(.float32, (0..<(shape.count - count)).map { _ in symbols.fresh() })]
                }
                return [TensorType(.float32, nil)]
            }
            axes = try Self.axesValues(constant)
        } else {
            axes = attributeAxes
        }
        let reduced = Set(try resolve(axes, rank: shape.count))
        var output: [Dim] = []
        for (axis, dim) in shape.enumerated() {
            if !reduced.contains(axis) { output.append(dim) } else if keepDims { output.append(.fixed(1)) }
        }
        return [TensorType(.float32, output)]
    }

    package func run(_ inputs: [Tensor?], kind: ReductionKind, opType: String, context: ExecutionContext) throws -> [Tensor] {
        guard let input = inputs[0] else { throw OperatorError("input data is required") }
        guard input.dtype == .float32 else { throw OperatorError("\(opType) supports float32, got \(input.dtype)") }
        let axesTensor = inputs.count > 1 ? inputs[1] : nil
        let reduced = try resolve(try axesTensor.map(Self.axesValues) ?? attributeAxes, rank: input.rank)
        let reducedSet = Set(reduced)
        var outputShape: [Int] = []
        for (axis, size) in input.shape.enumerated() {
            if !reducedSet.contains(axis) { outputShape.append(size) } else if keepDims { outputShape.append(1) }
        }
        let output = try Tensor.uninitialized(.float32, shape: outputShape)
        guard output.count > 0 else { return [output] }
        let length = reduced.reduce(1) { $0 * input.shape[$1] }
        guard length > 0 else {
            output.withUnsafeMutablePointer(as: Float.self) { $0.update(repeating: kind.emptyValue, count: output.count) }
            return [output]
        }

        // Merge runs of neighbouring axes of the same kind, ignoring size-1 axes (they do not move data).
        var groups: [(size: Int, reduced: Bool)] = []
        for (axis, size) in input.shape.enumerated() where size != 1 {
            let isReduced = reducedSet.contains(axis)
            if let last = groups.last, last.reduced == isReduced {
                groups[groups.count - 1].size *= size
            } else {
                groups.append((size, isReduced))
            }
        }
        let reducedGroups = groups.filter(\.reduced).count
        var source = input
        var outer = 1, inner = 1
        if reducedGroups <= 1 {
            // [outer, length, inner]: kept axes before the reduced block and after it.
            var afterReduced = false
            for group in groups {
                if group.reduced { afterReduced = true } else if afterReduced { inner *= group.size } else { outer *= group.size }
            }
        } else {
            // Several separate reduced blocks: move all reduced axes last, then reduce rows.
            let keptAxes = (0..<input.rank).filter { !reducedSet.contains($0) }
            source = try Self.permute(input, order: keptAxes + reduced)
            outer = output.count
            inner = 1
        }

        source.withUnsafePointer(as: Float.self) { x in
            output.withUnsafeMutablePointer(as: Float.self) { y in
                if inner == 1 {
                    context.parallelFor(outer, minimumChunk: max(1, 16_384 / length)) { rows in
                        ReductionKernels.rows(x, y, rows: rows, length: length, kind: kind)
                    }
                    return
                }
                let blockWidth = 512
                let blocksPerRow = (inner + blockWidth - 1) / blockWidth
                context.parallelFor(outer * blocksPerRow, minimumChunk: max(1, 16_384 / (length * min(inner, blockWidth)))) { items in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: blockWidth)
                    defer { scratch.deallocate() }
                    for item in items {
                        let block = item / blocksPerRow, start = (item % blocksPerRow) * blockWidth
                        ReductionKernels.columns(x + block * length * inner, y + block * inner,
                                                 columns: start..<min(inner, start + blockWidth), length: length,
                                                 inner: inner, kind: kind, scratch: scratch)
                    }
                }
            }
        }
        return [output]
    }

    /// A copy of `tensor` with its axes in `order` (a permutation).
    private static func permute(_ tensor: Tensor, order: [Int]) throws -> Tensor {
        let shape = order.map { tensor.shape[$0] }
        let result = try Tensor.uninitialized(tensor.dtype, shape: shape)
        let sourceStrides = ShapeArithmetic.strides(tensor.shape)
        let strides = order.map { sourceStrides[$0] }
        let rank = shape.count
        tensor.withUnsafePointer(as: Float.self) { source in
            result.withUnsafeMutablePointer(as: Float.self) { destination in
                var coordinate = [Int](repeating: 0, count: rank)
                var offset = 0
                for index in 0..<result.count {
                    destination[index] = source[offset]
                    var axis = rank - 1
                    while axis >= 0 {
                        coordinate[axis] += 1
                        offset += strides[axis]
                        if coordinate[axis] < shape[axis] { break }
                        offset -= coordinate[axis] * strides[axis]
                        coordinate[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return result
    }
}
