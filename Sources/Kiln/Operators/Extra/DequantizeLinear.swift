/// `DequantizeLinear`: `y = (x - x_zero_point) * x_scale` from uint8, int8 or int32 `x` to the
/// scale's type (float32 or float16) or `output_dtype` (opset 23), with per-tensor, per-axis
/// (`axis`, opset 13) or blocked (`block_size`, opset 21) scales (see ``QuantizationLayout``).
/// An int32 `x` has no zero point.
package struct DequantizeLinear: Operator {
    package static let opType = "DequantizeLinear"

    package let axis: Int
    package let blockSize: Int
    package let outputDType: DType?

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...3)
        axis = try node.int("axis", default: 1)
        blockSize = try node.int("block_size", default: 0)
        guard blockSize >= 0 else { throw OperatorError("block_size must not be negative, got \(blockSize)") }
        let outputCode = try node.int("output_dtype", default: 0)
        outputDType = outputCode == 0 ? nil : try QuantizedType.dtype(onnxCode: outputCode, attribute: "output_dtype")
        if let outputDType, !outputDType.isFloatingPoint {
            throw OperatorError("output_dtype must be float32 or float16, got \(outputDType)")
        }
    }

    private static let inputTypes: Set<DType> = [.uint8, .int8, .int32]

    private func check(input: DType, scale: DType, zeroPoint: DType?) throws -> DType {
        guard Self.inputTypes.contains(input) else { throw OperatorError("x must be uint8, int8 or int32, got \(input)") }
        guard scale.isFloatingPoint else { throw OperatorError("x_scale must be float32 or float16, got \(scale)") }
        if let zeroPoint, zeroPoint != input {
            throw OperatorError("x_zero_point is \(zeroPoint), x is \(input); they must have the same type")
        }
        return outputDType ?? scale
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        let scale = try ShapeInference.requireType(inputs, 1)
        let zeroPoint = OperatorInput.isPresent(inputs, 2) ? try ShapeInference.requireType(inputs, 2) : nil
        if let zeroShape = zeroPoint?.concreteShape, let scaleShape = scale.concreteShape, zeroShape != scaleShape {
            throw OperatorError("x_zero_point has shape \(zeroShape), x_scale has shape \(scaleShape)")
        }
        return [TensorType(try check(input: input.dtype, scale: scale.dtype, zeroPoint: zeroPoint?.dtype), input.shape)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let input = try OperatorInput.required(inputs, 0, name: "x")
        let scale = try OperatorInput.required(inputs, 1, name: "x_scale")
        let zeroPoint = OperatorInput.optional(inputs, 2)
        let dtype = try check(input: input.dtype, scale: scale.dtype, zeroPoint: zeroPoint?.dtype)
        if let zeroPoint, zeroPoint.shape != scale.shape {
            throw OperatorError("x_zero_point has shape \(zeroPoint.shape), x_scale has shape \(scale.shape)")
        }
        let layout = try QuantizationLayout(shape: input.shape, scaleShape: scale.shape, axis: axis, blockSize: blockSize)
        guard input.count > 0 else { return [try Tensor.uninitialized(dtype, shape: input.shape)] }
        let scales = scale.floats()
        let zeroPoints = zeroPoint?.floats() ?? [Float](repeating: 0, count: scales.count)
        // x - zero_point is exact in Float for 8-bit types; int32 values beyond 2^24 round, as in the reference.
        let values = input.floats()
        let result = [Float](unsafeUninitializedCapacity: input.count) { buffer, initialized in
            values.withUnsafeBufferPointer { x in
                scales.withUnsafeBufferPointer { s in
                    zeroPoints.withUnsafeBufferPointer { z in
                        layout.forEachRun { elementOffset, scaleOffset, scaleStride, count in
                            DequantizeKernel.dequantize(x.baseAddress! + elementOffset, buffer.baseAddress! + elementOffset,
                                                        count: count, scales: s.baseAddress! + scaleOffset,
                                                        zeroPoints: z.baseAddress! + scaleOffset, scaleStride: scaleStride)
                        }
                    }
                }
            }
            initialized = input.count
        }
        if dtype == .float16 {
            return [try Tensor(shape: input.shape, scalars: result.map { Float16($0) })]
        }
        return [try Tensor(shape: input.shape, scalars: result)]
    }
}

/// The dequantization kernel: one run of elements whose scales step by 0 (shared) or 1 (blocked).
package enum DequantizeKernel {
    @inline(__always)
    package static func dequantize(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
                                   scales: UnsafePointer<Float>, zeroPoints: UnsafePointer<Float>, scaleStride: Int) {
        for index in 0..<count {
            y[index] = (x[index] - zeroPoints[index * scaleStride]) * scales[index * scaleStride]
        }
    }
}
