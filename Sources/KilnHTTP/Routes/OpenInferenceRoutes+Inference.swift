import Foundation
import HTTPTypes
import Hummingbird
import Kiln
import KilnServing

/// `POST .../infer`: body, JSON and binary inputs, deadline, prediction, answer.
extension OpenInferenceRoutes {
    func infer(_ request: Request, _ parameters: Parameters) async throws -> Response {
        let (name, selector) = try target(parameters)
        // Unknown or unready models are refused before the body is read.
        let signature = try await resolve(name, selector)
        let body = try await BodyCollection.collect(request, limit: configuration.maxBodyBytes)
        let (jsonPart, binaryPart) = try BinaryTensorData.split(body, headers: request.headers)
        var decoded = try decodeRequest(jsonPart)
        do {
            try BinaryTensorData.attach(binaryPart, to: &decoded.inputs)
        } catch let error as RequestError {
            throw InferenceHTTPError.badRequest(error.description)
        }
        var inputs: [String: Tensor] = [:]
        for input in decoded.inputs {
            guard inputs[input.name] == nil else { throw InferenceHTTPError.badRequest("input '\(input.name)' is given more than once") }
            inputs[input.name] = input.tensor
        }
        let wanted = try requestedOutputs(decoded, outputs: signature.outputs.map(\.name))
        let deadline = try self.deadline(decoded)

        let prediction: Prediction
        do {
            prediction = try await server.predict(model: name, version: selector, inputs: inputs, deadline: deadline)
        } catch let error as ServingError {
            throw InferenceHTTPError.serving(error)
        }
        return try InferenceResponseWriter.response(
            for: prediction, outputs: wanted, id: decoded.id)
    }

    private func decodeRequest(_ jsonPart: ArraySlice<UInt8>) throws -> InferenceRequest {
        let decoder = JSONDecoder()
        decoder.userInfo[InferenceRequest.elementBudgetKey] = ElementBudget(jsonPart.count)
        do {
            return try decoder.decode(InferenceRequest.self, from: Data(jsonPart))
        } catch let error as RequestError {
            throw InferenceHTTPError.badRequest(error.description)
        } catch let error as DecodingError {
            throw InferenceHTTPError.badRequest(DecodingErrorDescription.describe(error))
        }
    }

    /// The outputs to return, in order, each with whether it goes in binary form.
    private func requestedOutputs(_ request: InferenceRequest, outputs: [String]) throws -> [(String, binary: Bool)] {
        let binaryDefault = request.binaryDataOutput
        guard let requested = request.outputs else { return outputs.map { ($0, binaryDefault) } }
        var seen = Set<String>()
        return try requested.map { output in
            guard outputs.contains(output.name) else {
                throw InferenceHTTPError.badRequest(
                    "unknown output '\(output.name)'; the model's outputs are \(outputs.map { "'\($0)'" }.joined(separator: ", "))")
            }
            guard seen.insert(output.name).inserted else {
                throw InferenceHTTPError.badRequest("output '\(output.name)' is requested more than once")
            }
            return (output.name, output.binaryData ?? binaryDefault)
        }
    }

    private func deadline(_ request: InferenceRequest) throws -> ContinuousClock.Instant? {
        if let parameter = request.parameters?["timeout"] {
            guard let microseconds = parameter.integerValue, microseconds > 0 else {
                throw InferenceHTTPError.badRequest("'parameters.timeout' must be a positive number of microseconds")
            }
            return .now + .microseconds(microseconds)
        }
        return configuration.defaultTimeout.map { .now + $0 }
    }
}
