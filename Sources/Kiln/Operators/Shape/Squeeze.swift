/// `Squeeze`: removes axes of size 1, sharing the input's bytes. The axes are an attribute before
/// opset 13 and an optional input from 13; without them every size-1 axis goes.
package struct Squeeze: Operator {
    package static let opType = "Squeeze"

    let axesAttribute: [Int]?
    let axesFromInput: Bool

    package init(node: Node, opset: Int) throws {
        if opset < 13 {
            try node.expectArity(inputs: 1...1)
            axesAttribute = try node.ints("axes")
            axesFromInput = false
        } else {
            try node.expectArity(inputs: 1...2)
            axesAttribute = nil
            axesFromInput = node.inputs.count == 2 && !node.inputs[1].isEmpty
        }
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        if axesFromInput { try IndexValues.requireIntegerType(inputs, 1, name: "axes") }
        guard let shape = data.shape else { return [TensorType(data.dtype, nil)] }
        let axes = axesFromInput ? inputs[1].constantIntegers : axesAttribute
        guard let axes else {
            if axesFromInput {
                // Which axes go is unknown; how many is known when the axes input has a static length.
                guard let count = IndexValues.staticLength(inputs, 1), count <= shape.count else { return [TensorType(data.dtype, nil)] }
                return [TensorType(data.dtype, (0..<(shape.count - count)).map { _ in symbols.fresh() })]
            }
            // A symbolic dim might be 1 at run time, so the rank is unknown unless every dim is fixed.
            guard let concrete = data.concreteShape else { return [TensorType(data.dtype, nil)] }
            return [TensorType(data.dtype, [Dim](concrete.filter { $0 != 1 }))]
        }
        let resolved = try IndexValues.normalizeAxes(axes, rank: shape.count)
        for axis in resolved {
            if let size = shape[axis].value, size != 1 {
                throw OperatorError("cannot squeeze axis \(axis) of size \(size)")
            }
        }
        let removed = Set(resolved)
        return [TensorType(data.dtype, shape.indices.filter { !removed.contains($0) }.map { shape[$0] })]
    }

    package func symbolicValues(_ inputs: [InferenceInput]) -> [[Dim]?] {
        // [n] -> [] keeps the single value.
        guard let value = inputs.first?.symbolicValue, value.count == 1 else { return [] }
        return [value]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "data")
        var axes = axesAttribute
        if axesFromInput, let tensor = OperatorInput.optional(inputs, 1) {
            axes = try IndexValues.integers(tensor, name: "axes")
        }
        guard let axes else { return [data.reshaped(to: data.shape.filter { $0 != 1 })] }
        let resolved = try IndexValues.normalizeAxes(axes, rank: data.rank)
        for axis in resolved where data.shape[axis] != 1 {
            throw OperatorError("cannot squeeze axis \(axis) of size \(data.shape[axis]) in shape \(data.shape)")
        }
        let removed = Set(resolved)
        return [data.reshaped(to: data.shape.indices.filter { !removed.contains($0) }.map { data.shape[$0] })]
    }
}
