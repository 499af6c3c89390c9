/// `Unsqueeze`: inserts size-1 axes at the given positions of the output, sharing the input's bytes.
/// The axes are an attribute before opset 13 and a required input from 13.
package struct Unsqueeze: Operator {
    package static let opType = "Unsqueeze"

    let axesAttribute: [Int]?

    package init(node: Node, opset: Int) throws {
        if opset < 13 {
            try node.expectArity(inputs: 1...1)
            guard let axes = try node.ints("axes") else { throw OperatorError("attribute 'axes' is required before opset 13") }
            axesAttribute = axes
        } else {
            try node.expectArity(inputs: 2...2)
            axesAttribute = nil
        }
    }

    /// The output shape: `shape` with 1s inserted at `axes` (resolved against the output rank).
    static func expand<Element>(_ shape: [Element], axes: [Int], one: Element) throws -> [Element] {
        let outputRank = shape.count + axes.count
        let inserted = try IndexValues.normalizeAxes(axes, rank: outputRank)
        var result: [Element] = []
        result.reserveCapacity(outputRank)
        var next = 0
        for axis in 0..<outputRank {
            if inserted.contains(axis) {
                result.append(one)
            } else {
                result.append(shape[next])
                next += 1
            }
        }
        return result
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        if axesAttribute == nil { try IndexValues.requireIntegerType(inputs, 1, name: "axes") }
        guard let shape = data.shape else { return [TensorType(data.dtype, nil)] }
        guard let axes = axesAttribute ?? inputs[1].constantIntegers else {
            guard let count = IndexValues.staticLength(inputs, 1) else { return [TensorType(data.dtype, nil)] }
            return [TensorType(data.dtype, (0..<(shape.count + count)).map { _ in symbols.fresh() })]
        }
        return [TensorType(data.dtype, try Unsqueeze.expand(shape, axes: axes, one: .fixed(1)))]
    }

    package func symbolicValues(_ inputs: [InferenceInput]) -> [[Dim]?] {
        // [] -> [1] keeps the single value.
        guard let value = inputs.first?.symbolicValue, value.count == 1,
              inputs.first?.type?.shape?.isEmpty == true else { return [] }
        return [value]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "data")
        let axes = try axesAttribute ?? IndexValues.integers(OperatorInput.required(inputs, 1, name: "axes"), name: "axes", allowScalar: true)
        return [data.reshaped(to: try Unsqueeze.expand(data.shape, axes: axes, one: 1))]
    }
}
