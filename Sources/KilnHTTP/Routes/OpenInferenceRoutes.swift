import Foundation
import HTTPTypes
import Hummingbird
import Kiln
import KilnServing
import Synchronization

/// The Open Inference Protocol (KServe v2) REST endpoints for a ``ModelServer``, to add to any
/// Hummingbird router or router group.
///
/// ```swift
/// let router = Router()
/// OpenInferenceRoutes(server: server).addRoutes(to: router)
/// let app = Application(router: router, services: [server])
/// ```
///
/// The version segment of a path (`/v2/models/{name}/versions/{version}/...`) is a version number
/// when it is an integer and a label (such as `stable`) otherwise; without it the model's latest
/// ready version answers. See Docs/HTTP.md for every endpoint and error.
public struct OpenInferenceRoutes: Sendable {
    /// The server that answers the requests.
    public let server: ModelServer
    public let configuration: InferenceHTTPConfiguration
    /// Models unloaded through the repository API; they answer 404 until loaded again.
    let unloaded = UnloadedModels()

    /// - Parameters:
    ///   - server: The model server; the application runs it (e.g. as a service of the
    ///     Hummingbird application or of a `ServiceGroup`).
    ///   - configuration: Body limit, default timeout, model control.
    public init(server: ModelServer, configuration: InferenceHTTPConfiguration = InferenceHTTPConfiguration()) {
        self.server = server
        self.configuration = configuration
    }

    /// Adds every endpoint under `/v2` to `router`.
    public func addRoutes<Context: RequestContext>(to router: some RouterMethods<Context>) {
        router.get("v2/health/live") { _, _ in try json(ServerLiveResponse(live: true)) }
        router.get("v2/health/ready") { _, _ in try await serverReady() }
        router.get("v2") { _, _ in try serverMetadata() }
        for prefix in ["v2/models/:model", "v2/models/:model/versions/:version"] {
            router.get(RouterPath(prefix)) { _, context in try await modelMetadata(context.parameters) }
            router.get(RouterPath(prefix + "/ready")) { _, context in try await modelReady(context.parameters) }
            router.post(RouterPath(prefix + "/infer")) { request, context in
                try await infer(request, context.parameters)
            }
        }
        router.post("v2/repository/index") { request, context in
            try authorizeControl(request, context)
            return try await repositoryIndex(request)
        }
        router.post("v2/repository/models/:model/load") { request, context in
            try authorizeControl(request, context)
            return try await load(context.parameters)
        }
        router.post("v2/repository/models/:model/unload") { request, context in
            try authorizeControl(request, context)
            return try await unload(context.parameters)
        }
    }

    // MARK: Health and metadata

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

    // MARK: Inference

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

    // MARK: Helpers

    /// The model name and version selector of a path.
    func target(_ parameters: Parameters) throws -> (String, VersionSelector) {
        guard let name = parameters.get("model") else { throw InferenceHTTPError.badRequest("missing model name") }
        guard let version = parameters.get("version") else { return (name, .latest) }
        if let number = Int(version) { return (name, .specific(number)) }
        return (name, .label(version))
    }

    /// The signature answering `selector`, or the error answer (404, 503) when there is none.
    func resolve(_ name: String, _ selector: VersionSelector) async throws -> ModelSignature {
        guard !unloaded.contains(name) else {
            throw InferenceHTTPError(.notFound, "model '\(name)' is unloaded")
        }
        do {
            return try await server.signature(model: name, version: selector)
        } catch {
            throw InferenceHTTPError.serving(error)
        }
    }

    func json<Value: Encodable>(_ value: Value, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Names of models taken out of service by `POST /v2/repository/models/{name}/unload`.
final class UnloadedModels: Sendable {
    private let models = Mutex<Set<String>>([])

    var names: Set<String> { models.withLock { $0 } }
    func contains(_ name: String) -> Bool { models.withLock { $0.contains(name) } }
    func insert(_ name: String) { _ = models.withLock { $0.insert(name) } }
    func remove(_ name: String) { _ = models.withLock { $0.remove(name) } }
}
