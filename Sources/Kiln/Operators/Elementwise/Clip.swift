/// `Clip`: limits each element to [min, max], i.e. Min(max, Max(input, min)): when min > max every
/// element becomes max. NaN stays NaN.
///
/// Opset 11 and later take `min` and `max` as optional scalar inputs of the input's dtype (any
/// numeric dtype); an omitted bound does not clip. Opset 6 to 10 take them as float attributes
/// (float inputs only), defaulting to the float range.
package struct Clip: Operator {
    package static let opType = "Clip"

    /// The opset < 11 attribute bounds; nil when the bounds are inputs.
    package let attributeBounds: (min: Float, max: Float)?

    package init(node: Node, opset: Int) throws {
        if opset < 11 {
            try node.expectArity(inputs: 1...1)
            attributeBounds = (try node.float("min", default: -Float.greatestFiniteMagnitude),
                               try node.float("max", default: Float.greatestFiniteMagnitude))
        } else {
            try node.expectArity(inputs: 1...3)
            attributeBounds = nil
        }
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let allowed = attributeBounds == nil ? Elementwise.numericDTypes : Elementwise.floatDTypes
        let input = try Elementwise.inferSameShape(inputs, allowed: allowed)
        for (index, name) in [(1, "min"), (2, "max")] where index < inputs.count && inputs[index].isPresent {
            let bound = try ShapeInference.requireType(inputs, index)
            guard bound.dtype == input.dtype else {
                throw OperatorError("\(name) (input \(index)) is \(bound.dtype) but the input is \(input.dtype); they must match")
            }
            if let shape = bound.concreteShape, shape.reduce(1, *) != 1 {
                throw OperatorError("\(name) (input \(index)) must be a scalar, got shape \(shape)")
            }
        }
        return [input]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let input = try Elementwise.require(inputs, 0)
        var low = inputs.count > 1 ? inputs[1] : nil
        var high = inputs.count > 2 ? inputs[2] : nil
        if let attributeBounds {
            switch input.dtype {
            case .float32:
                (low, high) = (Tensor(scalar: attributeBounds.min), Tensor(scalar: attributeBounds.max))
            case .float16:
                (low, high) = (Tensor(scalar: Float16(attributeBounds.min)), Tensor(scalar: Float16(attributeBounds.max)))
            default:
                throw OperatorError("input 0 is \(input.dtype); opset < 11 Clip takes float inputs only")
            }
        }
        switch input.dtype {
        case .float32: return [try clip(input, low, high, as: Float.self, cost: .cheap, context: context)]
        case .float16: return [try clip(input, low, high, as: Float16.self, cost: .expensive, context: context)]
        case .int64: return [try clip(input, low, high, as: Int64.self, cost: .cheap, context: context)]
        case .int32: return [try clip(input, low, high, as: Int32.self, cost: .cheap, context: context)]
        case .int8: return [try clip(input, low, high, as: Int8.self, cost: .cheap, context: context)]
        case .uint8: return [try clip(input, low, high, as: UInt8.self, cost: .cheap, context: context)]
        case .bool: throw OperatorError("input 0 is bool; Clip needs a numeric input")
        }
    }

    private func clip<Scalar: ElementwiseNumeric>(
        _ input: Tensor, _ low: Tensor?, _ high: Tensor?, as type: Scalar.Type, cost: Elementwise.Cost,
        context: ExecutionContext
    ) throws -> Tensor {
        let bounds = (try Clip.scalar(low, name: "min", index: 1, default: Scalar.lowest),
                      try Clip.scalar(high, name: "max", index: 2, default: Scalar.highest))
        return try Elementwise.unary(Function(low: bounds.0, high: bounds.1), input, cost: cost, context: context)
    }

    private static func scalar<Scalar: ElementwiseNumeric>(
        _ tensor: Tensor?, name: String, index: Int, default fallback: Scalar
    ) throws -> Scalar {
        guard let tensor else { return fallback }
        guard tensor.dtype == Scalar.dtype else {
            throw OperatorError("\(name) (input \(index)) is \(tensor.dtype) but the input is \(Scalar.dtype); they must match")
        }
        guard tensor.count == 1 else {
            throw OperatorError("\(name) (input \(index)) must be a scalar, got shape \(tensor.shape)")
        }
        return tensor.withUnsafePointer(as: Scalar.self) { $0.pointee }
    }

    struct Function<Scalar: ElementwiseNumeric>: UnaryElementwiseFunction {
        let low: Scalar
        let high: Scalar

        // Lower bound first, then upper: with min > max every element ends at max, as ONNX says.
        // Both comparisons are false for NaN, which passes through.
        @inline(__always)
        func apply(_ x: Scalar) -> Scalar {
            let raised = x < low ? low : x
            return raised > high ? high : raised
        }
    }
}
