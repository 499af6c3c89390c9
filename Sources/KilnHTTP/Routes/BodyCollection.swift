import HTTPTypes
import Hummingbird

/// Reads a request body up to a limit without ever holding more than the limit.
enum BodyCollection {
    /// The whole body, or 413 when it is larger than `limit` bytes: at once when `Content-Length`
    /// says so (nothing is read), otherwise as soon as the streamed chunks pass the limit.
    static func collect(_ request: Request, limit: Int) async throws -> ByteBuffer {
        if let declared = request.headers[.contentLength] {
            guard let length = Int(declared), length >= 0 else {
                throw InferenceHTTPError.badRequest("invalid Content-Length '\(declared)'")
            }
            guard length <= limit else { throw tooLarge(limit) }
        }
        var collected = ByteBuffer()
        for try await chunk in request.body {
            guard chunk.readableBytes <= limit - collected.readableBytes else { throw tooLarge(limit) }
            var chunk = chunk
            collected.writeBuffer(&chunk)
        }
        return collected
    }

    private static func tooLarge(_ limit: Int) -> InferenceHTTPError {
        InferenceHTTPError(.contentTooLarge, "the request body is larger than the server's limit of \(limit) bytes")
    }
}
