import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KilnHTTP
import Testing

@Suite("Health and metadata endpoints")
struct HealthAndMetadataTests {
    @Test func liveAndReadyAnswer200WithJSON() async throws {
        try await withServing { client, _ in
            try await client.execute(uri: "/v2/health/live", method: .get) { response throws in
                #expect(response.status == .ok)
                #expect(try jsonObject(response.body)["live"] as? Bool == true)
            }
            try await client.execute(uri: "/v2/health/ready", method: .get) { response throws in
                #expect(response.status == .ok)
                #expect(try jsonObject(response.body)["ready"] as? Bool == true)
            }
            try await client.execute(uri: "/v2/models/mlp/ready", method: .get) { response throws in
                #expect(response.status == .ok)
                let body = try jsonObject(response.body)
                #expect(body["name"] as? String == "mlp")
                #expect(body["ready"] as? Bool == true)
            }
            try await client.execute(uri: "/v2/models/mlp/versions/stable/ready", method: .get) { response throws in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/v2/models/nope/ready", method: .get) { response throws in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/v2/models/mlp/explain", method: .post) { response throws in
                #expect(response.status == .notFound)
                #expect(errorMessage(response.body).contains("no endpoint"))
            }
        }
    }

    @Test func serverReadyIs503WhileShuttingDown() async throws {
        try await withServing { client, fixture in
            await fixture.server.shutdown()
            try await client.execute(uri: "/v2/health/ready", method: .get) { response throws in
                #expect(response.status == .serviceUnavailable)
                #expect(try jsonObject(response.body)["ready"] as? Bool == false)
            }
        }
    }

    @Test func serverMetadataListsExtensions() async throws {
        try await withServing { client, _ in
            try await client.execute(uri: "/v2", method: .get) { response throws in
                #expect(response.status == .ok)
                let body = try jsonObject(response.body)
                #expect(body["name"] as? String == "kiln")
                #expect(body["version"] is String)
                let extensions = body["extensions"] as? [String] ?? []
                #expect(extensions.contains("binary_tensor_data"))
                #expect(!extensions.contains("model_repository"))
            }
        }
        try await withServing(InferenceHTTPConfiguration(modelControl: .bearerToken("t"))) { client, _ in
            try await client.execute(uri: "/v2", method: .get) { response throws in
                let extensions = try jsonObject(response.body)["extensions"] as? [String] ?? []
                #expect(extensions.contains("model_repository"))
            }
        }
    }

    @Test func modelMetadataGivesDatatypesAndSymbolicDimsAsMinusOne() async throws {
        try await withServing { client, _ in
            for uri in ["/v2/models/mlp", "/v2/models/mlp/versions/1", "/v2/models/mlp/versions/stable"] {
                try await client.execute(uri: uri, method: .get) { response throws in
                    #expect(response.status == .ok, "\(uri)")
                    let body = try jsonObject(response.body)
                    #expect(body["name"] as? String == "mlp")
                    #expect(body["platform"] as? String == "kiln")
                    #expect(body["versions"] as? [String] == ["1"])
                    let inputs = body["inputs"] as? [[String: Any]] ?? []
                    #expect(inputs.count == 1)
                    #expect(inputs.first?["name"] as? String == "x")
                    #expect(inputs.first?["datatype"] as? String == "FP32")
                    #expect(inputs.first?["shape"] as? [Int] == [-1, 784])
                    let outputs = body["outputs"] as? [[String: Any]] ?? []
                    #expect(outputs.first?["name"] as? String == "logits")
                    #expect(outputs.first?["datatype"] as? String == "FP32")
                    #expect(outputs.first?["shape"] as? [Int] == [-1, 10])
                }
            }
        }
    }
}
