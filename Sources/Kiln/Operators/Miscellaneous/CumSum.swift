/// `CumSum`: running sums along the axis given by a scalar int32/int64 input. `exclusive` = 1
/// leaves out the element itself, `reverse` = 1 sums from the end. float32, float16 (summed in
/// float32), int32 and int64 (wrapping on overflow).
package struct CumSum: Operator {
    package static let opType = "CumSum"

    let exclusive: Bool
    let reverse: Bool

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...2)
        exclusive = try node.int("exclusive", default: 0) != 0
        reverse = try node.int("reverse", default: 0) != 0
    }

    private static let supported: Set<DType> = [.float32, .float16, .int32, .int64]

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        guard CumSum.supported.contains(data.dtype) else { throw OperatorError("CumSum does not support \(data.dtype)") }
        try IndexValues.requireIntegerType(inputs, 1, name: "axis")
        if let rank = data.rank, let axis = inputs[1].constantIntegers, axis.count == 1 {
            _ = try ShapeInference.normalizeAxis(axis[0], rank: rank)
        }
        return [data]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "x")
        guard CumSum.supported.contains(data.dtype) else { throw OperatorError("CumSum does not support \(data.dtype)") }
        let axis = try ShapeInference.normalizeAxis(IndexValues.scalar(OperatorInput.required(inputs, 1, name: "axis"), name: "axis"),
                                                    rank: data.rank)
        let output = try Tensor.uninitialized(data.dtype, shape: data.shape)
        guard data.count > 0 else { return [output] }
        let extent = (outer: data.shape[..<axis].reduce(1, *), size: data.shape[axis], inner: data.shape[(axis + 1)...].reduce(1, *))
        switch data.dtype {
        case .float32: sum(Float.self, Float.self, data, output, extent, load: { $0 }, store: { $0 }, add: +)
        case .float16: sum(Float16.self, Float.self, data, output, extent, load: { Float($0) }, store: { Float16($0) }, add: +)
        case .int32: sum(Int32.self, Int32.self, data, output, extent, load: { $0 }, store: { $0 }, add: &+)
        default: sum(Int64.self, Int64.self, data, output, extent, load: { $0 }, store: { $0 }, add: &+)
        }
        return [output]
    }

    /// Walks the axis keeping one accumulator per inner position, so the inner loop is contiguous.
    private func sum<Element, Accumulator: Numeric>(
        _ type: Element.Type, _ accumulatorType: Accumulator.Type, _ data: Tensor, _ output: Tensor,
        _ extent: (outer: Int, size: Int, inner: Int), load: (Element) -> Accumulator,
        store: (Accumulator) -> Element, add: (Accumulator, Accumulator) -> Accumulator
    ) {
        let (outer, size, inner) = extent
        var accumulators = [Accumulator](repeating: 0, count: inner)
        data.withUnsafePointer(as: Element.self) { source in
            output.withUnsafeMutablePointer(as: Element.self) { destination in
                for outerIndex in 0..<outer {
                    for position in 0..<inner { accumulators[position] = 0 }
                    for step in 0..<size {
                        let index = reverse ? size - 1 - step : step
                        let row = (outerIndex * size + index) * inner
                        for position in 0..<inner {
                            let value = load(source[row + position])
                            if exclusive {
                                destination[row + position] = store(accumulators[position])
                                accumulators[position] = add(accumulators[position], value)
                            } else {
                                accumulators[position] = add(accumulators[position], value)
                                destination[row + position] = store(accumulators[position])
                            }
                        }
                    }
                }
            }
        }
    }
}
