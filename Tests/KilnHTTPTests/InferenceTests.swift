import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Kiln
import KilnHTTP
import KilnTestSupport
import Testing

@Suite("POST /v2/models/{name}/infer")
struct InferenceTests {
    static func fixtureCase(_ inputs: String, _ expected: String) throws -> (x: Tensor, logits: Tensor) {
        let x = try #require(try ServingFixture.mlp.tensors(in: inputs)["x"])
        let logits = try #require(try ServingFixture.mlp.tensors(in: expected)["logits"])
        return (x, logits)
    }

    @Test func jsonInferenceMatchesTheFixtureAndEchoesTheID() async throws {
        let (x, expected) = try Self.fixtureCase("inputs", "expected")
        try await withServing { client, _ in
            let body = try mlpRequest(shape: x.shape, values: try x.scalars(), extra: ["id": "request-42"])
            try await client.execute(uri: "/v2/models/mlp/infer", method: .post, headers: jsonHeaders, body: body) { response throws in
                #expect(response.status == .ok, "\(errorMessage(response.body))")
                #expect(response.headers[.contentType] == "application/json")
                let answer = try jsonObject(response.body)
                #expect(answer["id"] as? String == "request-42")
                #expect(answer["model_name"] as? String == "mlp")
                #expect(answer["model_version"] as? String == "1")
                let outputs = try #require(answer["outputs"] as? [[String: Any]])
                #expect(outputs.count == 1)
                let output = try #require(outputs.first)
                #expect(output["name"] as? String == "logits")
                #expect(output["datatype"] as? String == "FP32")
                #expect(output["shape"] as? [Int] == [4, 10])
                let values = (output["data"] as? [Double] ?? []).map(Float.init)
                let actual = try Tensor(shape: [4, 10], scalars: values)
                let comparison = Comparison.compare(actual, expected, rtol: 1e-4, atol: 1e-5)
                #expect(comparison.isClose, "\(comparison)")
            }
        }
    }

    @Test func nestedDataAndLabelAddressingGiveTheSameAnswer() async throws {
        let (x, expected) = try Self.fixtureCase("inputs_b1", "expected_b1")
        try await withServing { client, _ in
            let nested: [[Double]] = [try x.scalars(as: Float.self).map { Double($0) }]
            let body = try jsonBody(["inputs": [["name": "x", "shape": [1, 784], "datatype": "FP32", "data": nested]]])
            for uri in ["/v2/models/mlp/versions/stable/infer", "/v2/models/mlp/versions/1/infer"] {
                try await client.execute(uri: uri, method: .post, headers: jsonHeaders, body: body) { response throws in
                    #expect(response.status == .ok, "\(uri): \(errorMessage(response.body))")
                    let answer = try jsonObject(response.body)
                    #expect(answer["model_version"] as? String == "1")
                    #expect(answer["id"] == nil)
                    let output = try #require((answer["outputs"] as? [[String: Any]])?.first)
                    let values = (output["data"] as? [Double] ?? []).map(Float.init)
                    let comparison = Comparison.compare(try Tensor(shape: [1, 10], scalars: values), expected)
                    #expect(comparison.isClose, "\(comparison)")
                }
            }
        }
    }

    @Test func binaryInputAndOutputFollowTheJSONHeader() async throws {
        let (x, expected) = try Self.fixtureCase("inputs", "expected")
        try await withServing { client, _ in
            let header = try JSONSerialization.data(withJSONObject: [
                "inputs": [["name": "x", "shape": x.shape, "datatype": "FP32", "parameters": ["binary_data_size": x.byteCount]]],
                "parameters": ["binary_data_output": true],
            ])
            var body = ByteBuffer(bytes: header)
            x.withUnsafeBytes { body.writeBytes($0) }
            let headers: HTTPFields = [
                .contentType: "application/octet-stream",
                HTTPField.Name("Inference-Header-Content-Length")!: String(header.count),
            ]
            try await client.execute(uri: "/v2/models/mlp/infer", method: .post, headers: headers, body: body) { response throws in
                #expect(response.status == .ok, "\(errorMessage(response.body))")
                #expect(response.headers[.contentType] == "application/octet-stream")
                let headerLength = try #require(response.headers[HTTPField.Name("Inference-Header-Content-Length")!].flatMap { Int($0) })
                let bytes = Array(response.body.readableBytesView)
                #expect(bytes.count == headerLength + 4 * 10 * 4)
                let answer = try #require(try JSONSerialization.jsonObject(with: Data(bytes[..<headerLength])) as? [String: Any])
                let output = try #require((answer["outputs"] as? [[String: Any]])?.first)
                #expect(output["data"] == nil)
                #expect((output["parameters"] as? [String: Any])?["binary_data_size"] as? Int == 160)
                let actual = try Array(bytes[headerLength...]).withUnsafeBytes {
                    try Tensor(dtype: .float32, shape: [4, 10], bytes: $0)
                }
                let comparison = Comparison.compare(actual, expected)
                #expect(comparison.isClose, "\(comparison)")
            }
        }
    }

    @Test func requestedOutputCanBeBinaryWhileTheRequestIsJSON() async throws {
        let (x, expected) = try Self.fixtureCase("inputs_b1", "expected_b1")
        try await withServing { client, _ in
            let body = try mlpRequest(shape: x.shape, values: try x.scalars(),
                                      extra: ["outputs": [["name": "logits", "parameters": ["binary_data": true]]]])
            try await client.execute(uri: "/v2/models/mlp/infer", method: .post, headers: jsonHeaders, body: body) { response throws in
                #expect(response.status == .ok, "\(errorMessage(response.body))")
                let headerLength = try #require(response.headers[HTTPField.Name("Inference-Header-Content-Length")!].flatMap { Int($0) })
                let bytes = Array(response.body.readableBytesView)
                let actual = try Array(bytes[headerLength...]).withUnsafeBytes {
                    try Tensor(dtype: .float32, shape: [1, 10], bytes: $0)
                }
                #expect(Comparison.compare(actual, expected).isClose)
            }
        }
    }

    @Test func truncatedBinaryPayloadIs400() async throws {
        try await withServing { client, _ in
            let header = try JSONSerialization.data(withJSONObject: [
                "inputs": [["name": "x", "shape": [1, 784], "datatype": "FP32", "parameters": ["binary_data_size": 3136]]],
            ])
            var body = ByteBuffer(bytes: header)
            body.writeBytes([UInt8](repeating: 0, count: 100))
            let headers: HTTPFields = [HTTPField.Name("Inference-Header-Content-Length")!: String(header.count)]
            try await client.execute(uri: "/v2/models/mlp/infer", method: .post, headers: headers, body: body) { response throws in
                #expect(response.status == .badRequest)
                #expect(errorMessage(response.body).contains("ends before"))
            }
        }
    }
}
