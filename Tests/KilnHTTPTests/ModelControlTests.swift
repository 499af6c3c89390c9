import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KilnHTTP
import Testing

@Suite("Model repository endpoints")
struct ModelControlTests {
    @Test func disabledByDefaultAnswers403() async throws {
        try await withServing { client, _ in
            for uri in ["/v2/repository/index", "/v2/repository/models/mlp/load", "/v2/repository/models/mlp/unload"] {
                try await client.execute(uri: uri, method: .post) { response throws in
                    #expect(response.status == .forbidden, "\(uri)")
                    #expect(errorMessage(response.body).contains("disabled"))
                }
            }
            // Nothing was unloaded.
            try await client.execute(uri: "/v2/models/mlp/ready", method: .get) { response throws in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func tokenIsRequiredAndUnloadThenLoadTakesTheModelOutAndBack() async throws {
        let configuration = InferenceHTTPConfiguration(modelControl: .bearerToken("s3cret"))
        try await withServing(configuration) { client, _ in
            let authorized: HTTPFields = [.authorization: "Bearer s3cret"]
            for headers: HTTPFields in [[:], [.authorization: "Bearer wrong"], [.authorization: "s3cret"]] {
                try await client.execute(uri: "/v2/repository/index", method: .post, headers: headers) { response throws in
                    #expect(response.status == .unauthorized)
                }
            }
            try await client.execute(uri: "/v2/repository/index", method: .post, headers: authorized) { response throws in
                #expect(response.status == .ok)
                let entries = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [[String: Any]]
                #expect(entries?.count == 1)
                #expect(entries?.first?["name"] as? String == "mlp")
                #expect(entries?.first?["version"] as? String == "1")
                #expect(entries?.first?["state"] as? String == "READY")
            }
            try await client.execute(uri: "/v2/repository/models/mlp/unload", method: .post, headers: authorized) { response throws in
                #expect(response.status == .ok)
            }
            let body = try mlpRequest(shape: [1, 784], values: [Float](repeating: 0, count: 784))
            try await client.execute(uri: "/v2/models/mlp/infer", method: .post, headers: jsonHeaders, body: body) { response throws in
                #expect(response.status == .notFound)
                #expect(errorMessage(response.body).contains("unloaded"))
            }
            try await client.execute(uri: "/v2/repository/index", method: .post, headers: authorized,
                                     body: try jsonBody(["ready": true])) { response throws in
                let entries = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [[String: Any]]
                #expect(entries?.isEmpty == true)
            }
            try await client.execute(uri: "/v2/repository/models/mlp/load", method: .post, headers: authorized) { response throws in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/v2/models/mlp/infer", method: .post, headers: jsonHeaders, body: body) { response throws in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/v2/repository/models/nope/load", method: .post, headers: authorized) { response throws in
                #expect(response.status == .notFound)
            }
        }
    }
}
