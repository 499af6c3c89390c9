/// `OneHot`: for each index, a vector of `depth` elements that are `values[0]` (off) except
/// `values[1]` (on) at the index; the new axis goes at `axis` (default -1, last). Negative indices
/// count from `depth`; indices outside `[-depth, depth)` give all-off vectors, as ONNX specifies.
package struct OneHot: Operator {
    package static let opType = "OneHot"

    let axis: Int

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 3...3)
        axis = try node.int("axis", default: -1)
    }

    func resolvedAxis(indexRank: Int) throws -> Int {
        let resolved = axis < 0 ? axis + indexRank + 1 : axis
        guard resolved >= 0 && resolved <= indexRank else {
            throw OperatorError("axis \(axis) is out of range for indices of rank \(indexRank)")
        }
        return resolved
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let indices = try ShapeInference.requireType(inputs, 0)
        let values = try ShapeInference.requireType(inputs, 2)
        guard let indexShape = indices.shape else { return [TensorType(values.dtype, nil)] }
        let position = try resolvedAxis(indexRank: indexShape.count)
        var depth = symbols.fresh()
        if let constant = inputs[1].constant {
            depth = .fixed(try OneHot.depth(constant))
        }
        var shape = indexShape
        shape.insert(depth, at: position)
        return [TensorType(values.dtype, shape)]
    }

    static func depth(_ tensor: Tensor) throws -> Int {
        guard tensor.count == 1, tensor.rank <= 1, tensor.dtype != .bool else {
            throw OperatorError("depth must be one number, got \(tensor.dtype)\(tensor.shape)")
        }
        let value = tensor.dtype.isFloatingPoint ? Int(exactly: tensor.floats()[0].rounded(.towardZero)) : Int(tensor.int64s()[0])
        guard let value, value >= 1 else { throw OperatorError("depth must be at least 1, got \(tensor.floats()[0])") }
        return value
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let indices = try OperatorInput.required(inputs, 0, name: "indices")
        let depth = try OneHot.depth(OperatorInput.required(inputs, 1, name: "depth"))
        let values = try OperatorInput.required(inputs, 2, name: "values")
        guard values.count == 2, values.rank == 1 else { throw OperatorError("values must be [off, on], has shape \(values.shape)") }
        guard indices.dtype != .bool else { throw OperatorError("indices must be numeric, got bool") }
        let position = try resolvedAxis(indexRank: indices.rank)
        var outputShape = indices.shape
        outputShape.insert(depth, at: position)
        let output = try Tensor.uninitialized(values.dtype, shape: outputShape)
        guard output.count > 0 else { return [output] }
        let inner = indices.shape[position...].reduce(1, *)
        let outer = indices.shape[..<position].reduce(1, *)
        let size = values.dtype.byteSize
        let classes = indices.int64s()  // floats truncate toward zero
        values.withUnsafePointer(as: UInt8.self) { pair in
            output.withUnsafeMutablePointer(as: UInt8.self) { destination in
                ElementFill.fill(destination, count: output.count, value: pair, elementSize: size)
                for outerIndex in 0..<outer {
                    for innerIndex in 0..<inner {
                        var index = Int(classes[outerIndex * inner + innerIndex])
                        if index < 0 { index += depth }
                        guard index >= 0 && index < depth else { continue }
                        let element = (outerIndex * depth + index) * inner + innerIndex
                        (destination + element * size).update(from: pair + size, count: size)
                    }
                }
            }
        }
        return [output]
    }
}
