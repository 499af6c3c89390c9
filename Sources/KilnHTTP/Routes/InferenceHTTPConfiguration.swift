/// Settings of the Open Inference Protocol front end.
public struct InferenceHTTPConfiguration: Sendable {
    /// Largest request body accepted, in bytes; larger ones get 413, refused from `Content-Length`
    /// before any of the body is read, or as soon as a streamed body grows past it. Default 64 MiB.
    public var maxBodyBytes: Int
    /// Deadline of a prediction whose request gives no `parameters.timeout`; nil for none.
    /// Default 30 seconds.
    public var defaultTimeout: Duration?
    /// Whether and how the model repository endpoints (`/v2/repository/...`) may be used.
    public var modelControl: ModelControl
    /// `name` in server metadata (`GET /v2`).
    public var serverName: String
    /// `version` in server metadata.
    public var serverVersion: String

    public init(maxBodyBytes: Int = 64 << 20, defaultTimeout: Duration? = .seconds(30),
                modelControl: ModelControl = .disabled, serverName: String = "kiln",
                serverVersion: String = "0.1.0") {
        self.maxBodyBytes = maxBodyBytes
        self.defaultTimeout = defaultTimeout
        self.modelControl = modelControl
        self.serverName = serverName
        self.serverVersion = serverVersion
    }
}

/// Access to the model repository endpoints (index, load, unload).
public struct ModelControl: Sendable, Equatable {
    enum Mode: Sendable, Equatable {
        case disabled
        case unauthenticated
        case bearerToken(String)
    }

    let mode: Mode

    /// The endpoints answer 403 (the default).
    public static let disabled = ModelControl(mode: .disabled)
    /// Anyone who can reach the server may use them. Only for a server bound to loopback:
    /// `kiln serve` refuses this mode on any other address.
    public static let loopbackOnly = ModelControl(mode: .unauthenticated)
    /// Requests must carry `Authorization: Bearer <token>`; others get 401.
    public static func bearerToken(_ token: String) -> ModelControl { ModelControl(mode: .bearerToken(token)) }

    /// True unless disabled.
    public var isEnabled: Bool { mode != .disabled }
}
