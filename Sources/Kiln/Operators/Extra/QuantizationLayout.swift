/// How a quantization scale (and its zero point, which has the same shape) maps onto the elements
/// of the tensor it quantizes, for `QuantizeLinear` and `DequantizeLinear`:
///
/// - per tensor: the scale holds one value (rank 0, or any shape with one element);
/// - per axis: a 1-D scale with one value per index of `axis`;
/// - blocked (`block_size > 0`): the scale has the input's shape except along `axis`, where it has
///   `ceil(D / block_size)` entries, each covering `block_size` consecutive indices.
///
/// The input is seen as `[outer, axisLength, inner]` around `axis`; the scale of element
/// `(o, a, i)` is at `o * outerStride + (a / blockSize) * axisStride + i * innerStride`.
package struct QuantizationLayout: Sendable, Equatable {
    package var outer: Int
    package var axisLength: Int
    package var inner: Int
    package var blockSize: Int
    package var outerStride: Int
    package var axisStride: Int
    package var innerStride: Int

    /// The layout for `shape` with scales of `scaleShape`.
    /// - Parameters:
    ///   - axis: The quantization axis (may be negative); only read for per-axis and blocked scales.
    ///   - blockSize: 0 for per-tensor or per-axis scales.
    /// - Throws: ``OperatorError`` when the scale's shape fits none of the three forms.
    package init(shape: [Int], scaleShape: [Int], axis: Int, blockSize: Int) throws {
        let total = shape.reduce(1, *)
        if scaleShape.reduce(1, *) == 1 && (blockSize == 0 || scaleShape.count <= 1) {
            self.init(outer: 1, axisLength: 1, inner: total, blockSize: 1, outerStride: 0, axisStride: 0, innerStride: 0)
            return
        }
        let resolved = try ShapeInference.normalizeAxis(axis, rank: shape.count)
        let outer = shape[..<resolved].reduce(1, *), inner = shape[(resolved + 1)...].reduce(1, *)
        let length = shape[resolved]
        if blockSize <= 0 {
            guard scaleShape.count == 1, scaleShape[0] == length else {
                throw OperatorError("a per-axis scale must be 1-D with \(length) values (axis \(axis) of input shape \(shape)), got shape \(scaleShape)")
            }
            self.init(outer: outer, axisLength: length, inner: inner, blockSize: 1, outerStride: 0, axisStride: 1, innerStride: 0)
            return
        }
        var expected = shape
        // ceil(length / blockSize), without the overflow of length + blockSize - 1 for a huge block.
        expected[resolved] = length == 0 ? 0 : (length - 1) / blockSize + 1
        guard scaleShape == expected else {
            throw OperatorError("a blocked scale for input shape \(shape), axis \(axis) and block_size \(blockSize) must have shape \(expected), got \(scaleShape)")
        }
        self.init(outer: outer, axisLength: length, inner: inner, blockSize: blockSize,
                  outerStride: expected[resolved] * inner, axisStride: inner, innerStride: 1)
    }

    package init(outer: Int, axisLength: Int, inner: Int, blockSize: Int, outerStride: Int, axisStride: Int, innerStride: Int) {
        self.outer = outer
        self.axisLength = axisLength
        self.inner = inner
        self.blockSize = blockSize
        self.outerStride = outerStride
        self.axisStride = axisStride
        self.innerStride = innerStride
    }

    /// Calls `body(elementOffset, scaleOffset, scaleStride, count)` for each run of `count` consecutive
    /// elements whose scales advance by `scaleStride` (0 or 1).
    @inline(__always)
    package func forEachRun(_ body: (Int, Int, Int, Int) -> Void) {
        for outerIndex in 0..<outer {
            for axisIndex in 0..<axisLength {
                body((outerIndex * axisLength + axisIndex) * inner,
                     outerIndex * outerStride + (axisIndex / blockSize) * axisStride, innerStride, inner)
            }
        }
    }
}

/// The integer types quantization produces, with their saturation ranges.
package enum QuantizedType {
    /// The ONNX `TensorProto.DataType` code of `output_dtype` as a Kiln dtype, for the 8-bit types.
    package static func dtype(onnxCode code: Int, attribute: String) throws -> DType {
        switch code {
        case 2: return .uint8
        case 3: return .int8
        case 1: return .float32
        case 10: return .float16
        case 6: return .int32
        default: throw OperatorError("\(attribute) \(code) is not a type Kiln supports here")
        }
    }

    /// `[minimum, maximum]` of an 8-bit integer dtype as floats.
    package static func range(_ dtype: DType) -> (Float, Float) {
        dtype == .int8 ? (-128, 127) : (0, 255)
    }

    /// The zero points as `Float`s (exact for 8-bit values), or one 0 when there is none.
    package static func zeroPoints(_ tensor: Tensor?) -> [Float] {
        guard let tensor else { return [0] }
        return tensor.floats()
    }
}
