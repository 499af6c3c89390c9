import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Kiln
import KilnHTTP
import KilnServing
import Testing

/// One test per row of the error table in Docs/HTTP.md.
@Suite("Error answers")
struct ErrorTableTests {
    static let zeros = [Float](repeating: 0.25, count: 784)

    private func expectError(_ client: any TestClientProtocol, uri: String = "/v2/models/mlp/infer", body: ByteBuffer,
                             headers: HTTPFields = jsonHeaders, status: HTTPResponse.Status,
                             containing text: String) async throws {
        try await client.execute(uri: uri, method: .post, headers: headers, body: body) { response throws in
            #expect(response.status == status, "\(errorMessage(response.body))")
            #expect(response.headers[.contentType] == "application/json")
            let message = errorMessage(response.body)
            #expect(message.contains(text), "\(message)")
            #expect(!message.contains("/tmp") && !message.contains(".kiln"), "\(message)")
        }
    }

    @Test func malformedJSONIs400() async throws {
        try await withServing { client, _ in
            try await expectError(client, body: ByteBuffer(string: #"{"inputs": [{"name": "x", "#), status: .badRequest,
                                  containing: "not valid JSON")
            try await expectError(client, body: ByteBuffer(string: #"{"inputs": 5}"#), status: .badRequest,
                                  containing: "inputs")
        }
    }

    @Test func wrongShapeIs400() async throws {
        try await withServing { client, _ in
            let values = [Float](repeating: 1, count: 783)
            try await expectError(client, body: try mlpRequest(shape: [1, 783], values: values), status: .badRequest,
                                  containing: "axis 1")
        }
    }

    @Test func wrongDatatypeIs400() async throws {
        try await withServing { client, _ in
            let body = try jsonBody(["inputs": [["name": "x", "shape": [1, 784], "datatype": "INT64",
                                                 "data": [Int](repeating: 1, count: 784)]]])
            try await expectError(client, body: body, status: .badRequest, containing: "dtype")
            try await expectError(client, body: try mlpRequest(shape: [1, 784], values: Self.zeros, datatype: "FP64"),
                                  status: .badRequest, containing: "not supported")
            let strings = try jsonBody(["inputs": [["name": "x", "shape": [2], "datatype": "FP32", "data": ["a", "b"]]]])
            try await expectError(client, body: strings, status: .badRequest, containing: "datatype")
        }
    }

    @Test func wrongDataLengthIs400() async throws {
        try await withServing { client, _ in
            try await expectError(client, body: try mlpRequest(shape: [1, 784], values: Array(Self.zeros.dropLast())),
                                  status: .badRequest, containing: "783 values")
            let ragged: [[Float]] = [Array(Self.zeros), Array(Self.zeros.dropLast())]
            let nested = try jsonBody(["inputs": [["name": "x", "shape": [2, 784], "datatype": "FP32", "data": ragged]]])
            try await expectError(client, body: nested, status: .badRequest, containing: "nested")
        }
    }

    @Test func hugeShapesAre400WithoutAllocating() async throws {
        try await withServing { client, _ in
            let overflow = try jsonBody(["inputs": [["name": "x", "shape": [1 << 40, 1 << 40], "datatype": "FP32", "data": [1]]]])
            try await expectError(client, body: overflow, status: .badRequest, containing: "invalid shape")
            let tooMany = try jsonBody(["inputs": [["name": "x", "shape": [1 << 30, 784], "datatype": "FP32", "data": [1]]]])
            try await expectError(client, body: tooMany, status: .badRequest, containing: "more than the request body")
            let negative = try jsonBody(["inputs": [["name": "x", "shape": [-1, 784], "datatype": "FP32", "data": [1]]]])
            try await expectError(client, body: negative, status: .badRequest, containing: "invalid shape")
        }
    }

    @Test func unknownInputNameIs400() async throws {
        try await withServing { client, _ in
            let body = try jsonBody(["inputs": [
                ["name": "x", "shape": [1, 784], "datatype": "FP32", "data": Self.zeros.map(Double.init)],
                ["name": "y", "shape": [1], "datatype": "FP32", "data": [1]],
            ]])
            try await expectError(client, body: body, status: .badRequest, containing: "unknown input 'y'")
        }
    }

    @Test func unknownModelIs404() async throws {
        try await withServing { client, _ in
            try await expectError(client, uri: "/v2/models/nope/infer", body: try mlpRequest(shape: [1, 784], values: Self.zeros),
                                  status: .notFound, containing: "unknown model 'nope'")
            try await client.execute(uri: "/v2/models/nope", method: .get) { response throws in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func unknownVersionOrLabelIs404() async throws {
        try await withServing { client, _ in
            let body = try mlpRequest(shape: [1, 784], values: Self.zeros)
            try await expectError(client, uri: "/v2/models/mlp/versions/7/infer", body: body, status: .notFound,
                                  containing: "no version 7")
            try await expectError(client, uri: "/v2/models/mlp/versions/canary/infer", body: body, status: .notFound,
                                  containing: "canary")
        }
    }

    @Test func bodyOverTheLimitIs413() async throws {
        try await withServing(InferenceHTTPConfiguration(maxBodyBytes: 1000)) { client, _ in
            try await expectError(client, body: try mlpRequest(shape: [1, 784], values: Self.zeros),
                                  status: .contentTooLarge, containing: "limit of 1000 bytes")
        }
    }

    @Test func modelWithoutAReadyVersionIs503WithRetryAfter() async throws {
        try await withServing { client, fixture in
            // A corrupt file: the version fails to load and the model has nothing to serve.
            try fixture.store.publish(model: "broken", version: 1) { url in
                try Data("not a kiln file".utf8).write(to: url)
            }
            await fixture.server.reload()
            try await client.execute(uri: "/v2/models/broken/infer", method: .post, headers: jsonHeaders,
                                     body: try mlpRequest(shape: [1, 784], values: Self.zeros)) { response throws in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
                let message = errorMessage(response.body)
                #expect(message.contains("no version ready"), "\(message)")
                #expect(!message.contains(fixture.root.path(percentEncoded: false)), "\(message)")
            }
            try await client.execute(uri: "/v2/models/broken/ready", method: .get) { response throws in
                #expect(response.status == .serviceUnavailable)
            }
            try await client.execute(uri: "/v2/health/ready", method: .get) { response throws in
                #expect(response.status == .serviceUnavailable)
            }
        }
    }

    @Test func fullQueueIs503WithRetryAfterAndQueuedDeadlineIs504() async throws {
        let gate = WorkerGate()
        gate.close()
        let configuration = ModelConfiguration(instances: 1, threadsPerInstance: 1, maxQueueSize: 1,
                                               batching: BatchingConfiguration(enabled: false))
        try await withServing(modelConfiguration: configuration, hooks: gate.hooks, directRunLimit: nil) { client, fixture in
            let body = try mlpRequest(shape: [1, 784], values: Self.zeros)
            // The first request holds the only worker; the second waits in the queue of one.
            let first = Task {
                try await client.execute(uri: "/v2/models/mlp/infer", method: .post, headers: jsonHeaders, body: body) { $0.status }
            }
            try await eventually("the first request to reach the worker") { gate.workersWaiting == 1 }
            let timed = try mlpRequest(shape: [1, 784], values: Self.zeros, extra: ["parameters": ["timeout": 2_000_000]])
            let second = Task {
                try await client.execute(uri: "/v2/models/mlp/infer", method: .post, headers: jsonHeaders, body: timed) {
                    ($0.status, errorMessage($0.body))
                }
            }
            try await eventually("the second request to be queued") {
                await fixture.server.status(model: "mlp")?.queueDepth == 1
            }
            // While the second waits, the queue is full.
            try await client.execute(uri: "/v2/models/mlp/infer", method: .post, headers: jsonHeaders, body: body) { response throws in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
                #expect(errorMessage(response.body).contains("overloaded"))
            }
            let (status, message) = try await second.value
            #expect(status == .gatewayTimeout, "\(message)")
            gate.open()
            #expect(try await first.value == .ok)
        }
    }
}
