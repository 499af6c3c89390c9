import Foundation
import HTTPTypes
import Hummingbird
import Kiln
import KilnServing

/// Turns a prediction into the `/infer` answer: all-JSON, or JSON plus binary tensors when any
/// output was asked for in binary form.
enum InferenceResponseWriter {
    static func response(for prediction: Prediction, outputs wanted: [(String, binary: Bool)], id: String?) throws -> Response {
        var outputs: [ResponseOutput] = []
        var binaryTensors: [Tensor] = []
        for (name, binary) in wanted {
            guard let tensor = prediction.outputs[name] else {
                throw InferenceHTTPError(.internalServerError, "model '\(prediction.model)' did not produce output '\(name)'")
            }
            if binary {
                outputs.append(ResponseOutput(name: name, binary: tensor))
                binaryTensors.append(tensor)
            } else {
                outputs.append(ResponseOutput(name: name, tensor: tensor))
            }
        }
        let answer = InferenceResponse(modelName: prediction.model, modelVersion: String(prediction.version), id: id,
                                       outputs: outputs)
        let encoder = JSONEncoder()
        // JSON has no NaN or infinity; the binary form carries them exactly.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let header = try encoder.encode(answer)
        guard !binaryTensors.isEmpty else {
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: header)))
        }
        var headers: HTTPFields = [.contentType: "application/octet-stream"]
        headers[BinaryTensorData.headerLengthField] = String(header.count)
        return Response(status: .ok, headers: headers,
                        body: ResponseBody(byteBuffer: BinaryTensorData.responseBody(header: header, tensors: binaryTensors)))
    }
}
