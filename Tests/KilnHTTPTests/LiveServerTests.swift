import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Kiln
import KilnHTTP
import KilnServing
import Logging
import Synchronization
import Testing

/// The whole application as `kiln serve` builds it, over a real loopback socket.
@Suite("InferenceApplication over a socket")
struct LiveServerTests {
    @Test func servesInferenceExtraRoutesAndLoopbackModelControl() async throws {
        let fixture = try await ServingFixture()
        defer { try? FileManager.default.removeItem(at: fixture.root) }
        let reportedPort = Mutex<Int?>(nil)
        let app = InferenceApplication.make(
            server: fixture.server, configuration: InferenceHTTPConfiguration(modelControl: .loopbackOnly),
            logger: Logger(label: "kiln.http.tests", factory: { _ in SwiftLogNoOpLogHandler() }),
            addRoutes: { router in router.get("extra") { _, _ in "hi" } },
            onServerRunning: { port in reportedPort.withLock { $0 = port } })
        try await app.test(.live) { client in
            try await client.execute(uri: "/extra", method: .get) { response throws in
                #expect(String(buffer: response.body) == "hi")
            }
            // No token: allowed because the client is on loopback.
            try await client.execute(uri: "/v2/repository/index", method: .post) { response throws in
                #expect(response.status == .ok)
            }
            let body = try mlpRequest(shape: [2, 784], values: [Float](repeating: 1, count: 2 * 784))
            try await client.execute(uri: "/v2/models/mlp/infer", method: .post, headers: jsonHeaders, body: body) { response throws in
                #expect(response.status == .ok)
                let output = try #require((try jsonObject(response.body)["outputs"] as? [[String: Any]])?.first)
                #expect(output["shape"] as? [Int] == [2, 10])
            }
        }
        #expect(reportedPort.withLock { $0 } != nil)
        // The application ran the model server as a service and shut it down with itself.
        #expect(!fixture.server.isAcceptingRequests)
    }
}
