import ArgumentParser
import Foundation
import Hummingbird
import Kiln
import KilnHTTP
import KilnServing
import Logging
import Metrics
import Prometheus

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model repository over HTTP (Open Inference Protocol / KServe v2), with Prometheus metrics.",
        discussion: """
            Prints "kiln serve listening on http://HOST:PORT" once it accepts connections. SIGTERM or \
            SIGINT stop it gracefully: no new connections, in-flight requests finish, exit 0.
            """
    )

    @Option(help: "The model repository (a ModelStore root).")
    var repository: String

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one (the log line gives it).")
    var port = 8080

    @Option(help: "Threads per session instance for models without config.json (default: cores / instances).")
    var threads: Int?

    @Option(help: "A JSON file with config.json keys: the configuration of models that have no config.json.")
    var config: String?

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body accepted (larger: 413).")
    var maxBodyBytes = 64 << 20

    @Option(name: .customLong("timeout-ms"), help: "Deadline of requests without parameters.timeout; 0 for none.")
    var timeoutMilliseconds = 30_000

    @Option(name: .customLong("poll-ms"), help: "How often the repository is checked for new versions.")
    var pollMilliseconds = 1000

    @Flag(name: .customLong("model-control"), help: "Enable /v2/repository index, load and unload.")
    var modelControl = false

    @Option(name: .customLong("control-token"),
            help: "Bearer token required by model control (or set KILN_CONTROL_TOKEN, which stays out of `ps`); without one, model control needs a loopback --host.")
    var controlToken: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func run() async throws {
        try await reportingErrorsAsync {
            guard let level = Logger.Level(rawValue: logLevel) else { throw CommandError.usage("unknown --log-level '\(logLevel)'") }
            guard (0...65535).contains(port) else { throw CommandError.usage("--port must be between 0 and 65535") }
            guard maxBodyBytes > 0 else { throw CommandError.usage("--max-body-bytes must be positive") }
            guard timeoutMilliseconds >= 0, pollMilliseconds > 0 else {
                throw CommandError.usage("--timeout-ms must be >= 0 and --poll-ms > 0")
            }
            if let threads, threads < 1 { throw CommandError.usage("--threads must be at least 1") }
            let control = try modelControlMode()

            var logger = Logger(label: "kiln.serve")
            logger.logLevel = level
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

            let store = try ModelStore(root: URL(filePath: repository, directoryHint: .isDirectory), createIfMissing: false)
            var defaults = try defaultModelConfiguration()
            if let threads { defaults.threadsPerInstance = threads }
            let server = ModelServer(
                store: store,
                configuration: .init(pollInterval: .milliseconds(pollMilliseconds), defaultModelConfiguration: defaults),
                logger: logger)
            let httpConfiguration = InferenceHTTPConfiguration(
                maxBodyBytes: maxBodyBytes,
                defaultTimeout: timeoutMilliseconds == 0 ? nil : .milliseconds(timeoutMilliseconds),
                modelControl: control, serverVersion: KilnVersion.current)
            let host = self.host
            let app = InferenceApplication.make(
                server: server, configuration: httpConfiguration, address: .hostname(host, port: port), logger: logger,
                addRoutes: { router in
                    router.get("metrics") { _, _ in
                        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
                    }
                },
                onServerRunning: { port in
                    let shown = host.contains(":") ? "[\(host)]" : host
                    // Written straight to the file descriptor: scripts wait for this line, so it must
                    // not sit in a buffer.
                    let line = "kiln serve listening on http://\(shown):\(port.map(String.init) ?? "?")\n"
                    FileHandle.standardOutput.write(Data(line.utf8))
                })
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        }
    }

    private func modelControlMode() throws -> ModelControl {
        if let controlToken = controlToken ?? ProcessInfo.processInfo.environment["KILN_CONTROL_TOKEN"] {
            guard modelControl else {
                if self.controlToken == nil { return .disabled }  // only the environment has a token
                throw CommandError.usage("--control-token needs --model-control")
            }
            guard !controlToken.isEmpty else { throw CommandError.usage("--control-token must not be empty") }
            return .bearerToken(controlToken)
        }
        guard modelControl else { return .disabled }
        guard ["127.0.0.1", "localhost", "::1"].contains(host) || host.hasPrefix("127.") else {
            throw CommandError.usage("--model-control on a non-loopback --host needs --control-token")
        }
        return .loopbackOnly
    }

    private func defaultModelConfiguration() throws -> ModelConfiguration {
        guard let config else { return ModelConfiguration() }
        let data = try Data(contentsOf: URL(filePath: config))
        let configuration: ModelConfiguration
        do {
            configuration = try JSONDecoder().decode(ModelConfiguration.self, from: data)
        } catch {
            throw CommandError.usage("--config \(config): \(error)")
        }
        try configuration.validate(model: "default")
        return configuration
    }
}

/// ``reportingErrors(_:)`` for async commands.
func reportingErrorsAsync(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        let message = "\(error)".replacingOccurrences(of: "\n", with: " ")
        FileHandle.standardError.write(Data("kiln: error: \(message)\n".utf8))
        throw ExitCode.failure
    }
}
