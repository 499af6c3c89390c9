/// `GET /v2`: the server's name, version and protocol extensions.
struct ServerMetadataResponse: Encodable {
    var name: String
    var version: String
    var extensions: [String]
}

/// `GET /v2/health/live` and `/v2/health/ready`.
struct ServerLiveResponse: Encodable { var live: Bool }
struct ServerReadyResponse: Encodable { var ready: Bool }

/// `GET /v2/models/{name}[/versions/{v}]/ready`.
struct ModelReadyResponse: Encodable {
    var name: String
    var ready: Bool
}

/// One input or output in model metadata; `-1` marks a variable-size dim.
struct TensorMetadata: Encodable {
    var name: String
    var datatype: String
    var shape: [Int]
}

/// `GET /v2/models/{name}[/versions/{v}]`.
struct ModelMetadataResponse: Encodable {
    var name: String
    var versions: [String]
    var platform: String
    var inputs: [TensorMetadata]
    var outputs: [TensorMetadata]
}

/// One row of `POST /v2/repository/index` (model repository extension).
struct RepositoryIndexEntry: Encodable {
    var name: String
    var version: String?
    var state: String
    var reason: String
}

/// The optional body of `POST /v2/repository/index`.
struct RepositoryIndexRequest: Decodable {
    var ready: Bool?
}

/// Every error body: `{"error": "..."}`.
struct ErrorResponse: Encodable {
    var error: String
}
