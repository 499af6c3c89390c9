/// `QuantizeLinear`: `y = saturate(round_half_even(x / y_scale) + y_zero_point)` from float32 or
/// float16 `x` to uint8 or int8, with per-tensor, per-axis (`axis`, opset 13) or blocked
/// (`block_size`, opset 21) scales (see ``QuantizationLayout``).
///
/// The output type is the zero point's, else `output_dtype` (opset 21), else uint8. The division
/// runs in the precision of `y_scale` (float16 scales divide in float16), or of `precision`
/// (opset 23) when given. NaN quantizes to the type's minimum, as the ONNX reference gives.
package struct QuantizeLinear: Operator {
    package static let opType = "QuantizeLinear"

    package let axis: Int
    package let blockSize: Int
    package let outputDType: DType?
    package let precision: DType?

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...3)
        axis = try node.int("axis", default: 1)
        blockSize = try node.int("block_size", default: 0)
        guard blockSize >= 0 else { throw OperatorError("block_size must not be negative, got \(blockSize)") }
        let outputCode = try node.int("output_dtype", default: 0)
        outputDType = outputCode == 0 ? nil : try QuantizedType.dtype(onnxCode: outputCode, attribute: "output_dtype")
        if let outputDType, outputDType != .uint8 && outputDType != .int8 {
            throw OperatorError("output_dtype must be uint8 or int8 in Kiln, got \(outputDType)")
        }
        let precisionCode = try node.int("precision", default: 0)
        precision = precisionCode == 0 ? nil : try QuantizedType.dtype(onnxCode: precisionCode, attribute: "precision")
        if let precision, !precision.isFloatingPoint {
            throw OperatorError("precision must be float32 or float16, got \(precision)")
        }
    }

    private func resultType(zeroPoint: DType?) throws -> DType {
        if let zeroPoint {
            guard zeroPoint == .uint8 || zeroPoint == .int8 else {
                throw OperatorError("y_zero_point must be uint8 or int8 in Kiln, got \(zeroPoint)")
            }
            if let outputDType, outputDType != zeroPoint {
                throw OperatorError("output_dtype \(outputDType) differs from y_zero_point's type \(zeroPoint)")
            }
            return zeroPoint
        }
        return outputDType ?? .uint8
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        let scale = try ShapeInference.requireType(inputs, 1)
        guard input.dtype.isFloatingPoint else { throw OperatorError("x must be float32 or float16, got \(input.dtype)") }
        guard scale.dtype.isFloatingPoint else { throw OperatorError("y_scale must be float32 or float16, got \(scale.dtype)") }
        let zeroPoint = OperatorInput.isPresent(inputs, 2) ? try ShapeInference.requireType(inputs, 2) : nil
        if let zeroShape = zeroPoint?.concreteShape, let scaleShape = scale.concreteShape, zeroShape != scaleShape {
            throw OperatorError("y_zero_point has shape \(zeroShape), y_scale has shape \(scaleShape)")
        }
        return [TensorType(try resultType(zeroPoint: zeroPoint?.dtype), input.shape)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let input = try OperatorInput.required(inputs, 0, name: "x")
        let scale = try OperatorInput.required(inputs, 1, name: "y_scale")
        let zeroPoint = OperatorInput.optional(inputs, 2)
        guard input.dtype.isFloatingPoint else { throw OperatorError("x must be float32 or float16, got \(input.dtype)") }
        guard scale.dtype.isFloatingPoint else { throw OperatorError("y_scale must be float32 or float16, got \(scale.dtype)") }
        if let zeroPoint, zeroPoint.shape != scale.shape {
            throw OperatorError("y_zero_point has shape \(zeroPoint.shape), y_scale has shape \(scale.shape)")
        }
        let dtype = try resultType(zeroPoint: zeroPoint?.dtype)
        let layout = try QuantizationLayout(shape: input.shape, scaleShape: scale.shape, axis: axis, blockSize: blockSize)
        guard input.count > 0 else { return [try Tensor.uninitialized(dtype, shape: input.shape)] }
        let halfPrecision = (precision ?? scale.dtype) == .float16
        let scales = scale.floats()
        let zeroPoints = zeroPoint?.floats() ?? [Float](repeating: 0, count: scales.count)
        let widened = input.dtype == .float32 ? input : try Tensor(shape: input.shape, scalars: input.floats())
        let output = try Tensor.uninitialized(dtype, shape: input.shape)
        let (lowest, highest) = QuantizedType.range(dtype)
        widened.withUnsafePointer(as: Float.self) { source in
            scales.withUnsafeBufferPointer { s in
                zeroPoints.withUnsafeBufferPointer { z in
                    func quantize<Q: FixedWidthInteger>(_ type: Q.Type) {
                        output.withUnsafeMutablePointer(as: Q.self) { y in
                            layout.forEachRun { elementOffset, scaleOffset, scaleStride, count in
                                QuantizeKernel.quantize(source + elementOffset, y + elementOffset, count: count,
                                                        scales: s.baseAddress! + scaleOffset, zeroPoints: z.baseAddress! + scaleOffset,
                                                        scaleStride: scaleStride, halfPrecision: halfPrecision,
                                                        lowest: lowest, highest: highest)
                            }
                        }
                    }
                    if dtype == .int8 { quantize(Int8.self) } else { quantize(UInt8.self) }
                }
            }
        }
        return [output]
    }
}

/// The quantization kernels: one run of elements whose scales step by 0 (shared) or 1 (blocked).
package enum QuantizeKernel {
    /// Quantizes `count` floats. `lowest` and `highest` bound the target type.
    @inline(__always)
    package static func quantize<Q: FixedWidthInteger>(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Q>, count: Int,
        scales: UnsafePointer<Float>, zeroPoints: UnsafePointer<Float>, scaleStride: Int,
        halfPrecision: Bool, lowest: Float, highest: Float
    ) {
        for index in 0..<count {
            let scale = scales[index * scaleStride]
            var quotient: Float
            if halfPrecision {
                quotient = Float(Float16(Float(Float16(x[index])) / Float(Float16(scale))))
            } else {
                quotient = x[index] / scale
            }
            quotient = quotient.rounded(.toNearestOrEven) + zeroPoints[index * scaleStride]
            y[index] = Q(quotient.isNaN ? lowest : min(max(quotient, lowest), highest))
        }
    }
}
