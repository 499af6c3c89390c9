import Foundation
import Kiln

/// The JSON part of `POST .../infer`: `id`, `parameters`, `inputs` and the requested `outputs`.
struct InferenceRequest: Decodable {
    var id: String?
    var parameters: InferenceParameters?
    var inputs: [RequestInput]
    var outputs: [RequestedOutput]?

    /// `userInfo` key of an ``ElementBudget``: the most elements the JSON `data` of all inputs may hold
    /// together (the body's byte count, since every value takes at least one byte), so that a shape
    /// is refused before anything is allocated.
    static let elementBudgetKey = CodingUserInfoKey(rawValue: "kiln.elementBudget")!

    /// The request timeout in microseconds (`parameters.timeout`, as Triton's clients send it).
    var timeoutMicroseconds: Int64? { parameters?["timeout"]?.integerValue }

    /// Whether outputs default to binary (`parameters.binary_data_output`).
    var binaryDataOutput: Bool { parameters?["binary_data_output"]?.boolValue ?? false }
}

/// One requested output; `parameters.binary_data` asks for it in binary form.
struct RequestedOutput: Decodable {
    var name: String
    var parameters: InferenceParameters?

    var binaryData: Bool? { parameters?["binary_data"]?.boolValue }
}

/// One request input: its tensor when `data` was JSON, or its byte count when the tensor follows the
/// JSON in binary form (`parameters.binary_data_size`).
struct RequestInput: Decodable {
    var name: String
    var dtype: DType
    var shape: [Int]
    var parameters: InferenceParameters?
    var tensor: Tensor?
    var binaryDataSize: Int?

    private enum CodingKeys: String, CodingKey {
        case name, shape, datatype, parameters, data
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        let datatype = try container.decode(String.self, forKey: .datatype)
        guard let dtype = InferenceDatatype.dtype(named: datatype) else {
            throw RequestError("input '\(name)': datatype '\(datatype)' is not supported (use FP32, FP16, INT64, INT32, INT8, UINT8 or BOOL)")
        }
        self.dtype = dtype
        let shape: [Int]
        do {
            shape = try container.decode([Int].self, forKey: .shape)
        } catch {
            throw RequestError("input '\(name)': 'shape' must be an array of non-negative integers")
        }
        self.shape = shape
        let count: Int
        do {
            count = try ShapeArithmetic.elementCount(shape)
            _ = try ShapeArithmetic.byteCount(shape, dtype: dtype)
        } catch {
            throw RequestError("input '\(name)': invalid shape \(shape): \(error)")
        }
        parameters = try container.decodeIfPresent(InferenceParameters.self, forKey: .parameters)
        if let size = parameters?["binary_data_size"] {
            guard let bytes = size.integerValue, bytes >= 0, let exact = Int(exactly: bytes) else {
                throw RequestError("input '\(name)': 'binary_data_size' must be a non-negative integer")
            }
            guard !container.contains(.data) else {
                throw RequestError("input '\(name)': give either 'data' or 'binary_data_size', not both")
            }
            binaryDataSize = exact
            return
        }
        guard container.contains(.data) else {
            throw RequestError("input '\(name)': 'data' is missing (or give 'parameters.binary_data_size')")
        }
        if let budget = decoder.userInfo[InferenceRequest.elementBudgetKey] as? ElementBudget {
            guard budget.take(count) else {
                throw RequestError("input '\(name)': shape \(shape) needs \(count) values, more than the request body could hold")
            }
        }
        tensor = try TensorDataDecoding.decode(container, forKey: .data, input: name, dtype: dtype, shape: shape,
                                               count: count)
    }
}

/// How many more JSON values the inputs of one request may declare. Used only during one decode, on
/// one thread.
final class ElementBudget: @unchecked Sendable {
    private var remaining: Int

    init(_ total: Int) { remaining = total }

    /// Takes `count` from the budget; false (and nothing taken) when it does not have that many.
    func take(_ count: Int) -> Bool {
        guard count <= remaining else { return false }
        remaining -= count
        return true
    }
}
