import Foundation
import HTTPTypes
import Hummingbird
import KilnServing
import NIOCore

/// The model repository extension: `POST /v2/repository/index`, `.../models/{name}/load` and
/// `.../unload`, guarded by ``ModelControl``.
///
/// Load makes the server look at the store now (`ModelServer.reload()`) and puts an unloaded model
/// back in service. Unload takes a model out of service: its endpoints answer 404 until it is
/// loaded again. Its versions stay loaded in the ModelServer (no memory is freed), so a later load
/// is instant.
extension OpenInferenceRoutes {
    func authorizeControl<Context: RequestContext>(_ request: Request, _ context: Context) throws {
        switch configuration.modelControl.mode {
        case .disabled:
            throw InferenceHTTPError(.forbidden, "model control is disabled on this server")
        case .unauthenticated:
            if let remote = (context as? any RemoteAddressRequestContext)?.remoteAddress, !Self.isLoopback(remote) {
                throw InferenceHTTPError(.forbidden, "model control is only allowed from loopback")
            }
        case .bearerToken(let token):
            let given = request.headers[.authorization] ?? ""
            guard Self.constantTimeEqual(given, "Bearer " + token) else {
                throw InferenceHTTPError(.unauthorized, "model control needs 'Authorization: Bearer <token>'")
            }
        }
    }

    func repositoryIndex(_ request: Request) async throws -> Response {
        let body = try await BodyCollection.collect(request, limit: 64 << 10)
        var onlyReady = false
        if body.readableBytes > 0 {
            do {
                onlyReady = try JSONDecoder().decode(RepositoryIndexRequest.self, from: Data(body.readableBytesView)).ready ?? false
            } catch {
                throw InferenceHTTPError.badRequest("the body must be {\"ready\": true|false} or empty")
            }
        }
        let models: [String]
        do {
            models = try server.store.models()
        } catch {
            throw InferenceHTTPError(.internalServerError, "cannot read the model repository")
        }
        var entries: [RepositoryIndexEntry] = []
        for model in models {
            let stored = (try? server.store.versions(model: model)) ?? []
            let status = await server.status(model: model)
            let isUnloaded = unloaded.contains(model)
            for version in stored {
                let state = status?.version(version)?.state
                let entry: RepositoryIndexEntry
                switch state {
                case .ready? where !isUnloaded:
                    entry = RepositoryIndexEntry(name: model, version: String(version), state: "READY", reason: "")
                case .loading?, .warming?:
                    entry = RepositoryIndexEntry(name: model, version: String(version), state: "LOADING", reason: "")
                case .failed(let reason)?:
                    entry = RepositoryIndexEntry(name: model, version: String(version), state: "UNAVAILABLE", reason: reason)
                default:
                    let reason = isUnloaded ? "unloaded" : state.map { $0.name } ?? "not selected by the version policy or labels"
                    entry = RepositoryIndexEntry(name: model, version: String(version), state: "UNAVAILABLE", reason: reason)
                }
                if !onlyReady || entry.state == "READY" { entries.append(entry) }
            }
        }
        return try json(entries)
    }

    func load(_ parameters: Parameters) async throws -> Response {
        guard let name = parameters.get("model") else { throw InferenceHTTPError.badRequest("missing model name") }
        guard (try? server.store.models())?.contains(name) == true else {
            throw InferenceHTTPError(.notFound, "the repository has no model '\(name)'")
        }
        await server.reload()
        guard let status = await server.status(model: name), status.latest != nil else {
            let reasons = await server.status(model: name)?.versions.compactMap { version -> String? in
                if case .failed(let reason) = version.state { return "version \(version.version): \(reason)" }
                return nil
            } ?? []
            throw InferenceHTTPError.badRequest(
                "model '\(name)' has no version ready\(reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; "))")
        }
        unloaded.remove(name)
        return Response(status: .ok, headers: [.contentLength: "0"])
    }

    func unload(_ parameters: Parameters) async throws -> Response {
        guard let name = parameters.get("model") else { throw InferenceHTTPError.badRequest("missing model name") }
        let known = await server.status(model: name) != nil || (try? server.store.models())?.contains(name) == true
        guard known else { throw InferenceHTTPError(.notFound, "unknown model '\(name)'") }
        unloaded.insert(name)
        return Response(status: .ok, headers: [.contentLength: "0"])
    }

    static func isLoopback(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let v4): return v4.host.hasPrefix("127.")
        case .v6(let v6): return v6.host == "::1" || v6.host.hasPrefix("::ffff:127.")
        case .unixDomainSocket: return true
        }
    }

    /// Compares a secret without an early exit, so timing does not reveal how much of it matched.
    static func constantTimeEqual(_ given: String, _ expected: String) -> Bool {
        let lhs = Array(given.utf8), rhs = Array(expected.utf8)
        var difference = UInt8(lhs.count == rhs.count ? 0 : 1)
        for index in 0..<rhs.count {
            difference |= (index < lhs.count ? lhs[index] : 0) ^ rhs[index]
        }
        return difference == 0
    }
}
