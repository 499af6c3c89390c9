import Kiln

/// The Open Inference Protocol's tensor datatype names for Kiln's dtypes.
enum InferenceDatatype {
    /// `FP32`, `FP16`, `INT64`, `INT32`, `INT8`, `UINT8` or `BOOL`.
    static func name(of dtype: DType) -> String {
        switch dtype {
        case .float32: return "FP32"
        case .float16: return "FP16"
        case .int64: return "INT64"
        case .int32: return "INT32"
        case .int8: return "INT8"
        case .uint8: return "UINT8"
        case .bool: return "BOOL"
        }
    }

    /// The dtype of a protocol datatype name; nil for names Kiln has no dtype for (`FP64`, `BYTES`,
    /// `UINT16`...), which requests must not use.
    static func dtype(named name: String) -> DType? {
        switch name {
        case "FP32": return .float32
        case "FP16": return .float16
        case "INT64": return .int64
        case "INT32": return .int32
        case "INT8": return .int8
        case "UINT8": return .uint8
        case "BOOL": return .bool
        default: return nil
        }
    }

    /// A declared shape in protocol form: symbolic dims become -1.
    static func shape(of type: TensorType) -> [Int] {
        (type.shape ?? []).map { $0.value ?? -1 }
    }
}
