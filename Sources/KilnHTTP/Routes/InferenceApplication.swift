import Hummingbird
import KilnServing
import Logging

/// Builds a complete Hummingbird application serving a ``ModelServer`` over the Open Inference
/// Protocol; the server runs as one of the application's services, so `runService()` starts both
/// and shuts both down gracefully (SIGTERM/SIGINT), finishing the requests in flight.
public enum InferenceApplication {
    /// - Parameters:
    ///   - server: The model server (run by the application).
    ///   - configuration: The HTTP front end's settings.
    ///   - address: Where to listen, e.g. `.hostname("127.0.0.1", port: 8080)`.
    ///   - logger: The application's logger.
    ///   - addRoutes: Adds further routes (e.g. `/metrics`) to the same router.
    ///   - onServerRunning: Called with the real port once the server listens (useful with port 0).
    ///   - httpMetrics: Records Hummingbird's per-endpoint request metrics (`http.server.*`, by route
    ///     template, method and status) through whatever `MetricsSystem` the application bootstrapped.
    public static func make(
        server: ModelServer, configuration: InferenceHTTPConfiguration = InferenceHTTPConfiguration(),
        address: BindAddress = .hostname("127.0.0.1", port: 8080), logger: Logger,
        addRoutes: (Router<InferenceRequestContext>) -> Void = { _ in },
        onServerRunning: @escaping @Sendable (_ port: Int?) async -> Void = { _ in },
        httpMetrics: Bool = true
    ) -> some ApplicationProtocol {
        let router = Router(context: InferenceRequestContext.self)
        if httpMetrics { router.add(middleware: MetricsMiddleware()) }
        OpenInferenceRoutes(server: server, configuration: configuration).addRoutes(to: router)
        addRoutes(router)
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: address, serverName: configuration.serverName),
            services: [server],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port) },
            logger: logger)
    }
}
