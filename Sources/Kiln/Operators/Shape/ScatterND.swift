/// `ScatterND`: a copy of `data` where the slices addressed by the rows of `indices` (last axis of
/// length k <= rank) are replaced by, or with `reduction` combined with, the matching `updates`
/// slices. Reductions: `none`, `add`, `mul`, `max`, `min` (not for bool). Indices are int64 (int32
/// accepted); negative ones count from the end; out-of-range ones are an error.
package struct ScatterND: Operator {
    package static let opType = "ScatterND"

    enum Reduction: String {
        case none, add, mul, max, min
    }

    let reduction: Reduction

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 3...3)
        let name = try node.string("reduction", default: "none")
        guard let reduction = Reduction(rawValue: name) else {
            throw OperatorError("reduction '\(name)' is not supported (none, add, mul, max, min)")
        }
        self.reduction = reduction
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        let indices = try ShapeInference.requireType(inputs, 1)
        let updates = try ShapeInference.requireType(inputs, 2)
        guard indices.dtype == .int64 || indices.dtype == .int32 else {
            throw OperatorError("indices must be int64 or int32, got \(indices.dtype)")
        }
        guard updates.dtype == data.dtype else { throw OperatorError("updates are \(updates.dtype), data is \(data.dtype)") }
        if reduction != .none && data.dtype == .bool { throw OperatorError("reduction '\(reduction.rawValue)' does not apply to bool") }
        return [data]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "data")
        let indices = try OperatorInput.required(inputs, 1, name: "indices")
        let updates = try OperatorInput.required(inputs, 2, name: "updates")
        guard indices.dtype == .int64 || indices.dtype == .int32 else {
            throw OperatorError("indices must be int64 or int32, got \(indices.dtype)")
        }
        guard updates.dtype == data.dtype else { throw OperatorError("updates are \(updates.dtype), data is \(data.dtype)") }
        if reduction != .none && data.dtype == .bool { throw OperatorError("reduction '\(reduction.rawValue)' does not apply to bool") }
        guard indices.rank >= 1, let depth = indices.shape.last, depth <= data.rank else {
            throw OperatorError("indices of shape \(indices.shape) must have rank >= 1 and a last dim <= data rank \(data.rank)")
        }
        let expectedUpdates = Array(indices.shape.dropLast()) + data.shape[depth...]
        guard updates.shape == expectedUpdates else {
            throw OperatorError("updates have shape \(updates.shape), expected \(expectedUpdates) from indices \(indices.shape) and data \(data.shape)")
        }
        // Every target is checked before anything is written.
        let strides = ShapeArithmetic.strides(data.shape)
        let rowCount = try IndexValues.elementCount(indices.shape.dropLast())
        let values = indices.int64s()
        var offsets = [Int](repeating: 0, count: rowCount)
        for slice in offsets.indices {
            var offset = 0
            for position in 0..<depth {
                let size = data.shape[position]
                var index = Int(values[slice * depth + position])
                guard index >= -size && index < size else {
                    throw OperatorError("index \(index) in indices row \(slice) is out of range for axis \(position) of size \(size)")
                }
                if index < 0 { index += size }
                offset += index * strides[position]
            }
            offsets[slice] = offset
        }
        let sliceSize = try IndexValues.elementCount(data.shape[depth...])
        let output = try Tensor.uninitialized(data.dtype, shape: data.shape)
        let size = data.dtype.byteSize
        data.withUnsafePointer(as: UInt8.self) { source in
            output.withUnsafeMutablePointer(as: UInt8.self) { destination in
                destination.update(from: source, count: data.byteCount)
                updates.withUnsafePointer(as: UInt8.self) { update in
                    for (slice, offset) in offsets.enumerated() {
                        let target = UnsafeMutableRawPointer(destination + offset * size)
                        let from = UnsafeRawPointer(update + slice * sliceSize * size)
                        if reduction == .none {
                            target.copyMemory(from: from, byteCount: sliceSize * size)
                        } else {
                            ScatterND.combine(target, from, count: sliceSize, dtype: data.dtype, reduction: reduction)
                        }
                    }
                }
            }
        }
        return [output]
    }

    private static func combine(_ target: UnsafeMutableRawPointer, _ update: UnsafeRawPointer, count: Int, dtype: DType,
                                reduction: Reduction) {
        switch dtype {
        case .float32: combineTyped(target, update, count, Float.self, floatingReducer(reduction))
        case .float16: combineTyped(target, update, count, Float16.self, floatingReducer(reduction))
        case .int64: combineTyped(target, update, count, Int64.self, integerReducer(reduction))
        case .int32: combineTyped(target, update, count, Int32.self, integerReducer(reduction))
        case .int8: combineTyped(target, update, count, Int8.self, integerReducer(reduction))
        case .uint8: combineTyped(target, update, count, UInt8.self, integerReducer(reduction))
        case .bool: break  // rejected before
        }
    }

    private static func floatingReducer<T: BinaryFloatingPoint>(_ reduction: Reduction) -> (T, T) -> T {
        switch reduction {
        case .add: return { $0 + $1 }
        case .mul: return { $0 * $1 }
        case .max: return { Swift.max($0, $1) }
        case .min: return { Swift.min($0, $1) }
        case .none: return { $1 }
        }
    }

    /// Integer arithmetic wraps, as in C, instead of trapping on overflow.
    private static func integerReducer<T: FixedWidthInteger>(_ reduction: Reduction) -> (T, T) -> T {
        switch reduction {
        case .add: return { $0 &+ $1 }
        case .mul: return { $0 &* $1 }
        case .max: return { Swift.max($0, $1) }
        case .min: return { Swift.min($0, $1) }
        case .none: return { $1 }
        }
    }

    private static func combineTyped<T>(_ target: UnsafeMutableRawPointer, _ update: UnsafeRawPointer, _ count: Int,
                                        _ type: T.Type, _ combine: (T, T) -> T) {
        let destination = target.assumingMemoryBound(to: T.self)
        let source = update.assumingMemoryBound(to: T.self)
        for index in 0..<count { destination[index] = combine(destination[index], source[index]) }
    }
}
