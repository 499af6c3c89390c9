/// `DynamicQuantizeLinear`: quantizes a float32 tensor to uint8 with a scale and zero point computed
/// from its own range (widened to include 0): `scale = (max - min) / 255`,
/// `zero_point = round_half_even(clamp(-min / scale, 0, 255))`,
/// `y = clamp(round_half_even(x / scale) + zero_point, 0, 255)`. Outputs `y`, `y_scale` and
/// `y_zero_point` (both scalars). An all-zero (or empty) input gets scale 1 / 255.
package struct DynamicQuantizeLinear: Operator {
    package static let opType = "DynamicQuantizeLinear"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1, outputs: 3...3)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        guard input.dtype == .float32 else { throw OperatorError("x must be float32, got \(input.dtype)") }
        return [TensorType(.uint8, input.shape), TensorType(.float32, []), TensorType(.uint8, [])]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let input = try OperatorInput.required(inputs, 0, name: "x")
        guard input.dtype == .float32 else { throw OperatorError("x must be float32, got \(input.dtype)") }
        let output = try Tensor.uninitialized(.uint8, shape: input.shape)
        let (scale, zeroPoint) = input.withUnsafePointer(as: Float.self) { x -> (Float, Float) in
            var lowest: Float = 0, highest: Float = 0
            for index in 0..<input.count {
                // NaN is skipped: comparisons with it are false.
                if x[index] < lowest { lowest = x[index] }
                if x[index] > highest { highest = x[index] }
            }
            let scale = (highest == lowest ? 1 : highest - lowest) / 255
            let zeroPoint = min(max(-lowest / scale, 0), 255).rounded(.toNearestOrEven)
            output.withUnsafeMutablePointer(as: UInt8.self) { y in
                QuantizeKernel.quantize(x, y, count: input.count, scales: [scale], zeroPoints: [zeroPoint],
                                        scaleStride: 0, halfPrecision: false, lowest: 0, highest: 255)
            }
            return (scale, zeroPoint)
        }
        return [output, Tensor(scalar: scale), Tensor(scalar: UInt8(zeroPoint))]
    }
}
