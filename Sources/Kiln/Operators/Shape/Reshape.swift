/// `Reshape`: the same elements under another shape, sharing the input's bytes (no copy).
///
/// The target shape is the `shape` input (an attribute before opset 5). A 0 copies the input's dim at
/// that position, unless `allowzero` = 1 (opset 14+), where 0 means an empty dim; one -1 is inferred
/// from the element count.
package struct Reshape: Operator {
    package static let opType = "Reshape"

    let allowZero: Bool
    /// The target from the opset < 5 attribute; nil when it comes from the input.
    let shapeAttribute: [Int]?

    package init(node: Node, opset: Int) throws {
        if opset < 5 {
            try node.expectArity(inputs: 1...1)
            guard let shape = try node.ints("shape") else { throw OperatorError("attribute 'shape' is required before opset 5") }
            shapeAttribute = shape
        } else {
            try node.expectArity(inputs: 2...2)
            shapeAttribute = nil
        }
        allowZero = try node.int("allowzero", default: 0) != 0
        if let shapeAttribute { try Reshape.checkRequested(shapeAttribute.map { .fixed($0) }, allowZero: allowZero) }
    }

    /// Rejects requested values that are wrong whatever the input: below -1, -1 twice, or (with
    /// allowzero) 0 next to -1, which would make the -1 ambiguous.
    static func checkRequested(_ requested: [Dim], allowZero: Bool) throws {
        var inferredPosition: Int?
        for (position, dim) in requested.enumerated() {
            guard let value = dim.value else { continue }
            if value < -1 { throw OperatorError("shape value \(value) at position \(position) is invalid: values must be >= -1") }
            if value == -1 {
                if let earlier = inferredPosition {
                    throw OperatorError("shape has more than one -1 (positions \(earlier) and \(position))")
                }
                inferredPosition = position
            }
        }
        if allowZero, let inferredPosition, requested.contains(.fixed(0)) {
            throw OperatorError("shape has both 0 and -1 (position \(inferredPosition)) with allowzero = 1")
        }
    }

    /// The concrete output shape for `input`.
    static func outputShape(input: [Int], requested: [Int], allowZero: Bool) throws -> [Int] {
        try checkRequested(requested.map { .fixed($0) }, allowZero: allowZero)
        var shape = requested
        var inferredPosition: Int?
        for (position, value) in requested.enumerated() {
            if value == 0 && !allowZero {
                guard position < input.count else {
                    throw OperatorError("shape value 0 at position \(position) copies input dim \(position), but the input \(input) has rank \(input.count)")
                }
                shape[position] = input[position]
            } else if value == -1 {
                inferredPosition = position
            }
        }
        let inputCount = try IndexValues.elementCount(input)
        if let inferredPosition {
            var known = shape
            known.remove(at: inferredPosition)
            let knownCount = try IndexValues.elementCount(known)
            guard knownCount != 0 else {
                throw OperatorError("cannot infer the -1 in shape \(requested): the other dims of \(known) multiply to 0")
            }
            guard inputCount % knownCount == 0 else {
                throw OperatorError("cannot reshape \(input) (\(inputCount) elements) to \(requested): \(inputCount) is not a multiple of \(knownCount)")
            }
            shape[inferredPosition] = inputCount / knownCount
        }
        let outputCount = try IndexValues.elementCount(shape)
        guard outputCount == inputCount else {
            throw OperatorError("cannot reshape \(input) (\(inputCount) elements) to \(requested) (\(outputCount) elements)")
        }
        return shape
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        if shapeAttribute == nil { try IndexValues.requireIntegerType(inputs, 1, name: "shape") }
        let requested = shapeAttribute.map { $0.map(Dim.fixed) } ?? inputs[1].dimsValue
        guard let requested else {
            guard let length = IndexValues.staticLength(inputs, 1) else { return [TensorType(data.dtype, nil)] }
            return [TensorType(data.dtype, (0..<length).map { _ in symbols.fresh() })]
        }
        try Reshape.checkRequested(requested, allowZero: allowZero)
        if let input = data.concreteShape, let concrete = TensorType(data.dtype, requested).concreteShape {
            return [TensorType(data.dtype, [Dim](try Reshape.outputShape(input: input, requested: concrete, allowZero: allowZero)))]
        }
        var shape = requested
        var inferredPosition: Int?
        for (position, dim) in requested.enumerated() {
            if dim == .fixed(0) && !allowZero {
                if let inputShape = data.shape {
                    guard position < inputShape.count else {
                        throw OperatorError("shape value 0 at position \(position) copies input dim \(position), but the input has rank \(inputShape.count)")
                    }
                    shape[position] = inputShape[position]
                } else {
                    shape[position] = symbols.fresh()
                }
            } else if dim == .fixed(-1) {
                inferredPosition = position
            }
        }
        if let inferredPosition {
            var known = shape
            known.remove(at: inferredPosition)
            if let inputShape = data.shape, let quotient = DimProduct(inputShape).divided(by: DimProduct(known)) {
                shape[inferredPosition] = quotient
            } else {
                shape[inferredPosition] = symbols.fresh()
            }
        }
        return [TensorType(data.dtype, shape)]
    }

    package func symbolicValues(_ inputs: [InferenceInput]) -> [[Dim]?] {
        // Reshaping a shape vector between [n] and [] (n = 1) keeps its values.
        guard let value = inputs.first?.symbolicValue else { return [] }
        let requested = shapeAttribute.map { $0.map(Dim.fixed) } ?? (inputs.count > 1 ? inputs[1].dimsValue : nil)
        guard let requested, requested.count <= 1 else { return [] }
        return [value]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "data")
        let requested = try shapeAttribute
            ?? IndexValues.integers(OperatorInput.required(inputs, 1, name: "shape"), name: "shape")
        return [data.reshaped(to: try Reshape.outputShape(input: data.shape, requested: requested, allowZero: allowZero))]
    }
}
