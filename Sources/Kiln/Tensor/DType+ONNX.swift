extension DType {
    /// The ONNX `TensorProto.DataType` code for this dtype (as used by the `Cast` `to` attribute).
    public var onnxCode: Int {
        switch self {
        case .float32: return 1
        case .uint8: return 2
        case .int8: return 3
        case .int32: return 6
        case .int64: return 7
        case .bool: return 9
        case .float16: return 10
        }
    }

    /// The dtype for an ONNX `TensorProto.DataType` code, or nil when Kiln does not support it.
    public init?(onnxCode: Int) {
        switch onnxCode {
        case 1: self = .float32
        case 2: self = .uint8
        case 3: self = .int8
        case 6: self = .int32
        case 7: self = .int64
        case 9: self = .bool
        case 10: self = .float16
        default: return nil
        }
    }

    /// The ONNX name of an ONNX data type code (for error messages about unsupported types).
    public static func onnxTypeName(_ code: Int) -> String {
        let names = [0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32",
                     7: "INT64", 8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64",
                     14: "COMPLEX64", 15: "COMPLEX128", 16: "BFLOAT16", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ",
                     19: "FLOAT8E5M2", 20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4", 23: "FLOAT4E2M1"]
        return names[code] ?? "type \(code)"
    }
}
