import Foundation
import HTTPTypes
import Hummingbird
import Kiln
import KilnServing


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
        // Anything else under /v2 gets a JSON error like every other answer.
        for method in [HTTPRequest.Method.get, .post, .put, .delete] {
            router.on("v2/**", method: method) { request, _ -> Response in
                throw InferenceHTTPError(.notFound, "no endpoint \(request.method) \(request.uri.path)")
            }
        }
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
