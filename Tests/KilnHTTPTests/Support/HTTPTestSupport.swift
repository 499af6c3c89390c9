import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Kiln
import KilnHTTP
import KilnServing
import KilnTestSupport
import Logging
import Synchronization

/// A temporary repository holding the `mlp` fixture as model `mlp` version 1 (label `stable`), a
/// server on it, and a Hummingbird application with the inference routes.
struct ServingFixture {
    let root: URL
    let store: ModelStore
    let server: ModelServer

    static let mlp = Fixture("mlp")

    init(modelConfiguration: ModelConfiguration = ModelConfiguration(), hooks: ServerHooks = ServerHooks(),
         directRunLimit: Duration? = .microseconds(500)) async throws {
        root = FileManager.default.temporaryDirectory.appending(path: "kiln-http-\(UUID().uuidString)")
        store = try ModelStore(root: root)
        try store.publish(ServingFixture.mlp.modelURL, model: "mlp", version: 1)
        try store.setLabel("stable", model: "mlp", version: 1)
        var configuration = ModelServer.Configuration(pollInterval: nil, defaultModelConfiguration: modelConfiguration,
                                                      directRunLimit: directRunLimit)
        configuration.hooks = hooks
        server = ModelServer(store: store, configuration: configuration,
                             logger: Logger(label: "kiln.http.tests", factory: { _ in SwiftLogNoOpLogHandler() }))
        await server.reload()
    }

    func application(_ configuration: InferenceHTTPConfiguration = InferenceHTTPConfiguration()) -> some ApplicationProtocol {
        let router = Router()
        OpenInferenceRoutes(server: server, configuration: configuration).addRoutes(to: router)
        return Application(router: router)
    }

    func tearDown() async {
        await server.shutdown()
        try? FileManager.default.removeItem(at: root)
    }
}

/// Runs `body` against a fresh fixture and always tears it down.
func withServing<T>(_ configuration: InferenceHTTPConfiguration = InferenceHTTPConfiguration(),
                    modelConfiguration: ModelConfiguration = ModelConfiguration(), hooks: ServerHooks = ServerHooks(),
                    directRunLimit: Duration? = .microseconds(500),
                    _ body: @escaping @Sendable (any TestClientProtocol, ServingFixture) async throws -> T) async throws -> T {
    let fixture = try await ServingFixture(modelConfiguration: modelConfiguration, hooks: hooks,
                                           directRunLimit: directRunLimit)
    do {
        let result = try await fixture.application(configuration).test(.router) { client in try await body(client, fixture) }
        await fixture.tearDown()
        return result
    } catch {
        await fixture.tearDown()
        throw error
    }
}

extension ServingFixture: @unchecked Sendable {}

/// JSON helpers for request bodies and responses.
func jsonBody(_ object: Any) throws -> ByteBuffer {
    ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
}

func jsonObject(_ buffer: ByteBuffer) throws -> [String: Any] {
    let data = Data(buffer.readableBytesView)
    guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw JSONShapeError(text: String(decoding: data, as: UTF8.self))
    }
    return object
}

struct JSONShapeError: Error, CustomStringConvertible {
    let text: String
    var description: String { "not a JSON object: \(text)" }
}

/// The `error` text of an error answer.
func errorMessage(_ buffer: ByteBuffer) -> String {
    ((try? jsonObject(buffer))?["error"] as? String) ?? "<no error field: \(String(buffer: buffer))>"
}

/// An infer request body for the mlp's `x` with the given shape and flat values.
func mlpRequest(shape: [Int], values: [Float], extra: [String: Any] = [:], datatype: String = "FP32") throws -> ByteBuffer {
    var request: [String: Any] = [
        "inputs": [["name": "x", "shape": shape, "datatype": datatype, "data": values.map { Double($0) }]],
    ]
    request.merge(extra) { _, new in new }
    return try jsonBody(request)
}

let jsonHeaders: HTTPFields = [.contentType: "application/json"]

/// Blocks serving workers inside `ServerHooks.beforeBatch` while closed.
final class WorkerGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var isOpen = true
    private var waiting = 0

    var hooks: ServerHooks { ServerHooks(beforeBatch: { [self] _, _, _ in pass() }) }

    private func pass() {
        condition.lock()
        waiting += 1
        while !isOpen { condition.wait() }
        waiting -= 1
        condition.unlock()
    }

    func close() { condition.lock(); isOpen = false; condition.unlock() }
    func open() { condition.lock(); isOpen = true; condition.broadcast(); condition.unlock() }
    var workersWaiting: Int { condition.lock(); defer { condition.unlock() }; return waiting }
}

/// Polls until `condition` holds, for at most `timeout`.
func eventually(_ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw JSONShapeError(text: "timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(2))
    }
}
