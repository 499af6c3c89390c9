import HTTPTypes
import Hummingbird
@testable import KilnHTTP
import Testing

@Suite("Request body limit")
struct BodyLimitTests {
    private func streamedRequest(chunks: Int, of size: Int, contentLength: Int? = nil) -> Request {
        let parts = (0..<chunks).map { _ in ByteBuffer(repeating: 0x20, count: size) }
        var head = HTTPRequest(method: .post, scheme: "http", authority: "localhost", path: "/v2/models/mlp/infer")
        if let contentLength { head.headerFields[.contentLength] = String(contentLength) }
        return Request(head: head, body: RequestBody(asyncSequence: AsyncChunks(parts: parts)))
    }

    @Test func streamedBodyWithoutContentLengthIsCutOffAtTheLimit() async throws {
        let request = streamedRequest(chunks: 3, of: 50)
        await #expect(throws: InferenceHTTPError.self) { try await BodyCollection.collect(request, limit: 120) }
        let collected = try await BodyCollection.collect(streamedRequest(chunks: 3, of: 50), limit: 150)
        #expect(collected.readableBytes == 150)
    }

    @Test func declaredLengthOverTheLimitIsRefusedBeforeReading() async throws {
        let request = streamedRequest(chunks: 0, of: 0, contentLength: 10_000)
        do {
            _ = try await BodyCollection.collect(request, limit: 100)
            Issue.record("expected 413")
        } catch let error as InferenceHTTPError {
            #expect(error.status == .contentTooLarge)
        }
    }
}

private struct AsyncChunks: AsyncSequence, Sendable {
    let parts: [ByteBuffer]
    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: [ByteBuffer]
        mutating func next() async -> ByteBuffer? { remaining.isEmpty ? nil : remaining.removeFirst() }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: parts) }
}
