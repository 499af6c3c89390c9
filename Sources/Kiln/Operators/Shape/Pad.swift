/// `Pad`: grows (or, with negative pads, crops) each axis. From opset 11 `pads` is an int64 input
/// `[begin_0, ..., begin_n, end_0, ..., end_n]`, `constant_value` an optional scalar input and, from
/// 18, `axes` selects the padded axes; before 11 `pads` and `value` are attributes. Modes: `constant`,
/// `reflect` (mirror without repeating the edge), `edge` (repeat the edge) and `wrap` (opset 19).
package struct Pad: Operator {
    package static let opType = "Pad"

    enum Mode: String {
        case constant, reflect, edge, wrap
    }

    let mode: Mode
    /// Opset < 11 attributes.
    let padsAttribute: [Int]?
    let valueAttribute: Float

    package init(node: Node, opset: Int) throws {
        let modeName = try node.string("mode", default: "constant")
        guard let mode = Mode(rawValue: modeName), mode != .wrap || opset >= 19 else {
            throw OperatorError("mode '\(modeName)' is not supported (constant, reflect, edge\(opset >= 19 ? ", wrap" : ""))")
        }
        self.mode = mode
        if opset < 11 {
            try node.expectArity(inputs: 1...1)
            guard let pads = try node.ints("pads") ?? node.ints("paddings") else { throw OperatorError("attribute 'pads' is required before opset 11") }
            padsAttribute = pads
            valueAttribute = try node.float("value", default: 0)
        } else {
            try node.expectArity(inputs: 2...(opset >= 18 ? 4 : 3))
            padsAttribute = nil
            valueAttribute = 0
        }
    }

    /// Begin and end pads for every axis of a rank-`rank` input.
    static func perAxis(pads: [Int], axes: [Int]?, rank: Int) throws -> (begin: [Int], end: [Int]) {
        let padded = try IndexValues.normalizeAxes(axes ?? Array(0..<rank), rank: rank)
        guard pads.count == 2 * padded.count else {
            throw OperatorError("pads has \(pads.count) values, expected \(2 * padded.count) (two per padded axis)")
        }
        var begin = [Int](repeating: 0, count: rank), end = begin
        for (position, axis) in padded.enumerated() {
            begin[axis] = pads[position]
            end[axis] = pads[position + padded.count]
        }
        return (begin, end)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        guard let shape = data.shape else { return [TensorType(data.dtype, nil)] }
        if padsAttribute == nil {
            try IndexValues.requireIntegerType(inputs, 1, name: "pads")
            try IndexValues.requireIntegerType(inputs, 3, name: "axes")
            if OperatorInput.isPresent(inputs, 2), let valueType = inputs[2].type, valueType.dtype != data.dtype {
                throw OperatorError("constant_value is \(valueType.dtype), the input is \(data.dtype)")
            }
        }
        let axesGiven = OperatorInput.isPresent(inputs, 3)
        guard let pads = padsAttribute ?? inputs[1].constantIntegers, !axesGiven || inputs[3].constant != nil else {
            return [TensorType(data.dtype, shape.map { _ in symbols.fresh() })]
        }
        let (begin, end) = try Pad.perAxis(pads: pads, axes: axesGiven ? inputs[3].constantIntegers : nil, rank: shape.count)
        return [TensorType(data.dtype, try shape.indices.map { axis -> Dim in
            guard let size = shape[axis].value else { return begin[axis] == 0 && end[axis] == 0 ? shape[axis] : symbols.fresh() }
            let padded = try IndexValues.sum([size, begin[axis], end[axis]], of: "padding axis \(axis)")
            guard padded >= 0 else { throw OperatorError("pads \(begin[axis]), \(end[axis]) make axis \(axis) of size \(size) negative") }
            return .fixed(padded)
        })]
    }

    /// For each output coordinate of one axis, the input coordinate it reads, or -1 for the fill value.
    func map(size: Int, begin: Int, end: Int, axis: Int) throws -> [Int] {
        let outputSize = try IndexValues.sum([size, begin, end], of: "padding axis \(axis)")
        guard outputSize >= 0 else { throw OperatorError("pads \(begin), \(end) make axis \(axis) of size \(size) negative") }
        if size == 0 && outputSize > 0 && mode != .constant {
            throw OperatorError("cannot pad the empty axis \(axis) in \(mode.rawValue) mode")
        }
        let period = 2 * (size - 1)
        return (0..<outputSize).map { position in
            let index = position - begin
            if index >= 0 && index < size { return index }
            switch mode {
            case .constant: return -1
            case .edge: return index < 0 ? 0 : size - 1
            case .wrap: return ((index % size) + size) % size
            case .reflect:
                // Mirror about the edges without repeating them: period 2 * (size - 1).
                guard period > 0 else { return 0 }
                let folded = ((index % period) + period) % period
                return folded < size ? folded : period - folded
            }
        }
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "data")
        let pads = try padsAttribute ?? IndexValues.integers(OperatorInput.required(inputs, 1, name: "pads"), name: "pads")
        let axes = try OperatorInput.optional(inputs, 3).map { try IndexValues.integers($0, name: "axes") }
        let (begin, end) = try Pad.perAxis(pads: pads, axes: axes, rank: data.rank)
        let outputShape = try data.shape.indices.map { axis in
            try IndexValues.sum([data.shape[axis], begin[axis], end[axis]], of: "padding axis \(axis)")
        }
        // Allocated before the per-axis maps so an impossible size fails here, not in building them.
        let output = try Tensor.uninitialized(data.dtype, shape: outputShape.map { max($0, 0) })
        let maps = try data.shape.indices.map { try map(size: data.shape[$0], begin: begin[$0], end: end[$0], axis: $0) }
        let fill = try fillValue(inputs, dtype: data.dtype)
        guard output.count > 0 else { return [output] }
        data.withUnsafePointer(as: UInt8.self) { source in
            output.withUnsafeMutablePointer(as: UInt8.self) { destination in
                fill.withUnsafeBytes { fillBytes in
                    AxisMapCopy.copy(source: source, sourceShape: data.shape, maps: maps, destination: destination,
                                     fill: fillBytes.baseAddress!, elementSize: data.dtype.byteSize, context: context)
                }
            }
        }
        return [output]
    }

    /// The constant as one element of `dtype` (zero when not given).
    private func fillValue(_ inputs: [Tensor?], dtype: DType) throws -> Tensor {
        if padsAttribute != nil {
            return ScalarTensor.make(Double(valueAttribute), dtype: dtype)
        }
        guard let value = OperatorInput.optional(inputs, 2) else { return try Tensor(zeros: dtype, shape: []) }
        guard value.dtype == dtype else { throw OperatorError("constant_value is \(value.dtype), the input is \(dtype)") }
        guard value.count == 1 else { throw OperatorError("constant_value must hold one value, has shape \(value.shape)") }
        return value
    }
}
