import Kiln
import KilnTestSupport
import Testing

/// A tensor in a generated fixture: values as Doubles (exact for every value the fixtures hold).
struct FixtureTensor: Sendable {
    let dtype: DType
    let shape: [Int]
    let values: [Double]

    init(_ dtype: DType, _ shape: [Int], _ values: [Double]) {
        self.dtype = dtype
        self.shape = shape
        self.values = values
    }

    func tensor() throws -> Tensor {
        switch dtype {
        case .float32: return try Tensor(shape: shape, scalars: values.map { Float($0) })
        case .float16: return try Tensor(shape: shape, scalars: values.map { Float16($0) })
        case .int64: return try Tensor(shape: shape, scalars: values.map { Int64($0) })
        case .int32: return try Tensor(shape: shape, scalars: values.map { Int32($0) })
        case .int8: return try Tensor(shape: shape, scalars: values.map { Int8($0) })
        case .uint8: return try Tensor(shape: shape, scalars: values.map { UInt8($0) })
        case .bool: return try Tensor(shape: shape, scalars: values.map { $0 != 0 })
        }
    }
}

/// One operator run recorded from ONNX Runtime.
struct OnnxRuntimeCase: Sendable, CustomTestStringConvertible {
    let name: String
    let opType: String
    let attributes: [String: Attribute]
    let opset: Int
    let inputs: [FixtureTensor]
    let expected: FixtureTensor

    var testDescription: String { name }
}

/// Kiln against ONNX Runtime on inputs chosen to reach the special values (NaN, ±inf, ±0, overflow
/// and underflow of exp) and every broadcast shape; expected outputs come from
/// `Scripts/generate_elementwise_fixtures.py`.
@Suite struct ElementwiseOnnxRuntimeTests {
    @Test(arguments: ElementwiseOnnxRuntimeTests.cases)
    func matchesOnnxRuntime(_ fixture: OnnxRuntimeCase) throws {
        let inputs: [Tensor?] = try fixture.inputs.map { try $0.tensor() }
        let output = try ElementwiseTesting.run(fixture.opType, inputs, attributes: fixture.attributes, opset: fixture.opset)
        let expected = try fixture.expected.tensor()
        #expect(output.dtype == expected.dtype)
        #expect(output.shape == expected.shape)
        if expected.dtype.isFloatingPoint {
            // Floats: numpy allclose; NaN and infinities must sit at the same positions.
            let comparison = Comparison.compare(output, expected, rtol: 1e-5, atol: 1e-6)
            #expect(comparison.isClose, "\(comparison)")
        } else {
            #expect(output.int64s() == expected.int64s())
        }
    }
}
