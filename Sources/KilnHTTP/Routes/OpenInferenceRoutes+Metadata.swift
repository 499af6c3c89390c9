import Foundation
import HTTPTypes
import Hummingbird
import Kiln
import KilnServing

/// Health, server metadata, model metadata and model readiness.
extension OpenInferenceRoutes {
    func serverReady() async throws -> Response {
        var ready = server.isAcceptingRequests && server.hasLoadedStore
        if ready {
            let unloadedNames = unloaded.names
            ready = await server.status().allSatisfy { $0.latest != nil || unloadedNames.contains($0.model) }
        }
        return try json(ServerReadyResponse(ready: ready), status: ready ? .ok : .serviceUnavailable)
    }

    func serverMetadata() throws -> Response {
        var extensions = ["binary_tensor_data"]
        if configuration.modelControl.isEnabled { extensions.append("model_repository") }
        return try json(ServerMetadataResponse(name: configuration.serverName, version: configuration.serverVersion,
                                               extensions: extensions))
    }

    func modelMetadata(_ parameters: Parameters) async throws -> Response {
        let (name, selector) = try target(parameters)
        let signature = try await resolve(name, selector)
        let versions = await server.status(model: name)?.versions
            .filter { $0.state == .ready }.map { String($0.version) } ?? [String(signature.version)]
        func describe(_ values: [ValueInfo]) -> [TensorMetadata] {
            values.map {
                TensorMetadata(name: $0.name, datatype: InferenceDatatype.name(of: $0.type.dtype),
                               shape: InferenceDatatype.shape(of: $0.type))
            }
        }
        return try json(ModelMetadataResponse(name: name, versions: versions, platform: "kiln",
                                              inputs: describe(signature.inputs), outputs: describe(signature.outputs)))
    }

    func modelReady(_ parameters: Parameters) async throws -> Response {
        let (name, selector) = try target(parameters)
        do {
            _ = try await resolve(name, selector)
            return try json(ModelReadyResponse(name: name, ready: true))
        } catch let error as InferenceHTTPError where error.status == .serviceUnavailable {
            var response = try json(ModelReadyResponse(name: name, ready: false), status: .serviceUnavailable)
            response.headers[.retryAfter] = "1"
            return response
        }
    }
}
