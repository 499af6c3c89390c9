import Foundation
import HTTPTypes
import Hummingbird
import KilnServing

/// An error answer of the HTTP front end: a status, a `{"error": "..."}` body, and for 503 a
/// `Retry-After` header.
public struct InferenceHTTPError: HTTPResponseError, CustomStringConvertible {
    public let status: HTTPResponse.Status
    /// The text of the `error` field.
    public let message: String
    /// Seconds for the `Retry-After` header, when set.
    public let retryAfterSeconds: Int?

    /// - Parameters:
    ///   - status: The HTTP status.
    ///   - message: The `error` text; it must not contain file paths or internals.
    ///   - retryAfterSeconds: Value of `Retry-After`, for 503 answers.
    public init(_ status: HTTPResponse.Status, _ message: String, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(status.code) \(message)" }

    /// The `{"error": "..."}` answer Hummingbird sends when a handler throws this error.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        let body = (try? JSONEncoder().encode(ErrorResponse(error: message))) ?? Data(#"{"error":"error"}"#.utf8)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func badRequest(_ message: String) -> InferenceHTTPError { InferenceHTTPError(.badRequest, message) }

    static func unavailable(_ message: String) -> InferenceHTTPError {
        InferenceHTTPError(.serviceUnavailable, message, retryAfterSeconds: 1)
    }

    /// The answer for a ``ServingError``. Messages are written here rather than taken from the
    /// error's description: a version's failure reason may name files on the server, which clients
    /// must not see.
    static func serving(_ error: ServingError) -> InferenceHTTPError {
        switch error {
        case .unknownModel(let name, _):
            return InferenceHTTPError(.notFound, "unknown model '\(name)'")
        case .unknownVersion(let model, let version, let serving):
            let list = serving.isEmpty ? "none" : serving.map(String.init).joined(separator: ", ")
            return InferenceHTTPError(.notFound, "model '\(model)' has no version \(version); serving versions: \(list)")
        case .unknownLabel(let model, let label, _):
            return InferenceHTTPError(.notFound, "model '\(model)' has no version or label '\(label)'")
        case .versionUnavailable(let model, let version, let state):
            return unavailable("model '\(model)' version \(version) is not ready (\(state.name))")
        case .labelUnavailable(let model, let label, let version, let state):
            return unavailable("label '\(label)' of model '\(model)' points at version \(version), which is not ready (\(state?.name ?? "not loaded"))")
        case .noServingVersion(let model, _):
            return unavailable("model '\(model)' has no version ready")
        case .invalidInput(let model, _, let inputError):
            return badRequest("model '\(model)': \(inputError)")
        case .overloaded(let model, let capacity):
            return unavailable("model '\(model)' is overloaded: its queue of \(capacity) requests is full")
        case .deadlineExceeded(let model):
            return InferenceHTTPError(.gatewayTimeout, "the request's timeout passed before model '\(model)' could run it")
        case .cancelled(let model):
            return unavailable("the request to model '\(model)' was cancelled before it ran")
        case .shuttingDown:
            return unavailable("the server is shutting down")
        case .inferenceFailed(let model, let version, let reason):
            return InferenceHTTPError(.internalServerError, "model '\(model)' version \(version) failed to run the request: \(reason)")
        }
    }
}
