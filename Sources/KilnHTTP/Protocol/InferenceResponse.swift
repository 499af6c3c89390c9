import Kiln

/// The JSON part of a successful `POST .../infer` answer.
struct InferenceResponse: Encodable {
    var modelName: String
    var modelVersion: String
    var id: String?
    var outputs: [ResponseOutput]

    private enum CodingKeys: String, CodingKey {
        case modelName = "model_name", modelVersion = "model_version", id, outputs
    }
}

/// One output tensor: its values in `data`, or `parameters.binary_data_size` bytes after the JSON.
struct ResponseOutput: Encodable {
    var name: String
    var datatype: String
    var shape: [Int]
    var parameters: InferenceParameters?
    var data: OutputData?

    /// The output in JSON form.
    init(name: String, tensor: Tensor) {
        self.name = name
        datatype = InferenceDatatype.name(of: tensor.dtype)
        shape = tensor.shape
        data = OutputData(tensor)
    }

    /// The output in binary form; its bytes follow the JSON.
    init(name: String, binary tensor: Tensor) {
        self.name = name
        datatype = InferenceDatatype.name(of: tensor.dtype)
        shape = tensor.shape
        parameters = ["binary_data_size": .int(Int64(tensor.byteCount))]
    }
}

/// A flat row-major array of output values, as JSON numbers or booleans.
enum OutputData: Encodable {
    case floats([Float])
    case integers([Int64])
    case booleans([Bool])

    init(_ tensor: Tensor) {
        switch tensor.dtype {
        case .float32, .float16:
            self = .floats(tensor.floats())
        case .bool:
            self = .booleans(tensor.int64s().map { $0 != 0 })
        case .int64, .int32, .int8, .uint8:
            self = .integers(tensor.int64s())
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .floats(let values): try container.encode(values)
        case .integers(let values): try container.encode(values)
        case .booleans(let values): try container.encode(values)
        }
    }
}
