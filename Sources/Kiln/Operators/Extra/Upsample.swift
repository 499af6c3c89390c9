/// `Upsample` (opsets 7 and 9; deprecated in 10 for `Resize`): scales every axis by `scales` (an
/// attribute in opset 7, a float32 input from opset 9), each at least 1, to `floor(size * scale)`.
/// Modes `nearest` (rounding down) and `linear` (N-linear), with asymmetric coordinates as ONNX
/// Runtime samples them.
package struct Upsample: Operator {
    package static let opType = "Upsample"

    package let sampling: ResizeSampling
    package let attributeScales: [Float]?

    package init(node: Node, opset: Int) throws {
        let modeName = try node.string("mode", default: "nearest")
        // Exports for opset 7 and earlier sometimes wrote "bilinear".
        guard let mode = ResizeSampling.Mode(rawValue: modeName == "bilinear" ? "linear" : modeName), mode != .cubic else {
            throw OperatorError("mode must be nearest or linear, got '\(modeName)'")
        }
        sampling = ResizeSampling(mode: mode, coordinates: .asymmetric, nearest: .legacy)
        attributeScales = try node.floats("scales")
        if let attributeScales {
            try node.expectArity(inputs: 1...1)
            try Self.check(attributeScales)
        } else {
            try node.expectArity(inputs: 2...2)
        }
    }

    private static func check(_ scales: [Float]) throws {
        guard scales.allSatisfy({ $0 >= 1 && $0.isFinite }) else {
            throw OperatorError("Upsample scales must be at least 1, got \(scales)")
        }
    }

    private func scales(_ tensor: Tensor?) throws -> [Float] {
        if let attributeScales { return attributeScales }
        guard let tensor else { throw OperatorError("input 'scales' is missing") }
        guard tensor.dtype == .float32, tensor.rank == 1 else {
            throw OperatorError("scales must be a 1-D float32 tensor, got \(tensor.dtype) \(tensor.shape)")
        }
        let values = try tensor.scalars(as: Float.self)
        try Self.check(values)
        return values
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        if sampling.mode != .nearest, !input.dtype.isFloatingPoint {
            throw OperatorError("linear upsampling supports float32 and float16, got \(input.dtype)")
        }
        guard let shape = input.shape else { return [TensorType(input.dtype, nil)] }
        let known: [Float]? = attributeScales != nil ? attributeScales
            : (inputs.count > 1 ? try inputs[1].constant.map { try scales($0) } : nil)
        guard let known else { return [TensorType(input.dtype, shape.map { _ in symbols.fresh() })] }
        guard known.count == shape.count else {
            throw OperatorError("scales has \(known.count) values for an input of rank \(shape.count)")
        }
        let output = zip(shape, known).map { dim, scale -> Dim in
            if scale == 1 { return dim }
            guard let size = dim.value else { return symbols.fresh() }
            return .fixed(Int((Double(size) * Double(scale)).rounded(.down)))
        }
        return [TensorType(input.dtype, output)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let input = try OperatorInput.required(inputs, 0, name: "X")
        let values = try scales(OperatorInput.optional(inputs, 1))
        let target = try ResizeSampling.target(inputShape: input.shape, axes: Array(0..<input.rank), scales: values,
                                               sizes: nil, roi: nil, policy: .stretch)
        return [try sampling.resize(input, to: target, context: context)]
    }
}
