import Dispatch
import Kiln
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Serves the models of a ``ModelStore`` to callers in the same process.
///
/// The server loads the versions each model's ``VersionPolicy`` (plus its labels) selects, warms each
/// up before it takes traffic, and moves traffic to a new version only once it is ready; the version
/// it replaces finishes its queued and running requests and is then unloaded. A version that fails to
/// load or warm up is marked failed and traffic stays where it was.
///
/// Requests wait in a bounded queue per model and run on a configurable number of session instances
/// per version; requests that agree on every axis but the batch axis are batched together.
///
/// Run it as a swift-service-lifecycle `Service` (in a `ServiceGroup`), or call ``run()`` in a task.
/// On graceful shutdown it stops accepting requests, finishes the accepted ones, and returns.
public final class ModelServer: Service, Sendable {
    /// The repository the server reads.
    public let store: ModelStore
    public let configuration: Configuration
    let logger: Logger
    let metricsFactory: any MetricsFactory
    let metricNames: MetricNames
    let models = Mutex<[String: ServedModel]>([:])
    private let unknownModelRequests: Counter
    private let requestIDs = Atomic<UInt64>(0)
    /// Loads and route changes happen one at a time, off the cooperative thread pool (they block on
    /// file I/O and compilation).
    let reconcileQueue = DispatchQueue(label: "kiln.serving.reconcile")
    let lifecycle = Mutex(Lifecycle())
    let stopRequested = OneShotEvent()
    let shutdownFinished = OneShotEvent()
    let firstReloadFinished = OneShotEvent()

    struct Lifecycle {
        var accepting = true
        var running = false
        var firstReloadStarted = false
    }

    /// Creates a server; nothing is loaded until ``run()`` starts, ``reload()`` is called, or the
    /// first prediction arrives.
    /// - Parameters:
    ///   - store: The repository to serve.
    ///   - configuration: Server-wide settings.
    ///   - logger: Where the server logs (loads at `info`, failures at `error`/`warning`, requests at
    ///     `trace`/`debug`).
    public init(store: ModelStore, configuration: Configuration = Configuration(),
                logger: Logger = Logger(label: "kiln.serving")) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.metricsFactory = configuration.metricsFactory ?? MetricsSystem.factory
        self.metricNames = MetricNames(prefix: configuration.metricsPrefix)
        unknownModelRequests = Counter(
            label: metricNames.requests,
            dimensions: [("model", "_unknown"), ("version", "none"), ("outcome", RequestOutcome.unknownModel.rawValue)],
            factory: metricsFactory)
    }

    // MARK: Predictions

    /// Runs a model on one request.
    ///
    /// - Parameters:
    ///   - model: The model's name.
    ///   - version: `.latest` (default), a version number, or a label.
    ///   - inputs: One tensor per model input, by name.
    ///   - deadline: When the answer is no longer wanted. A request still queued at its deadline is
    ///     removed and fails with ``ServingError/deadlineExceeded(model:)``; one already running
    ///     completes.
    /// - Returns: The outputs and the version that computed them.
    /// - Throws: ``ServingError``. Cancelling the calling task removes a queued request
    ///   (``ServingError/cancelled(model:)``).
    public func predict(model name: String, version selector: VersionSelector = .latest,
                        inputs: [String: Tensor], deadline: ContinuousClock.Instant? = nil) async throws -> Prediction {
        let started = ContinuousClock.now
        let requestID = requestIDs.add(1, ordering: .relaxed).newValue
        if !firstReloadFinished.hasFired { await awaitFirstReload() }
        guard let served = models.withLock({ $0[name] }) else {
            let known = models.withLock { $0.keys.sorted() }
            unknownModelRequests.increment()
            logger.debug("prediction refused", metadata: [
                "model": "\(name)", "request-id": "\(requestID)", "outcome": "unknown_model"])
            throw ServingError.unknownModel(name, known: known)
        }
        // A version can close between resolution and queueing when traffic moves; the request then
        // resolves again and lands on the new version. Each retry follows a completed swap.
        for _ in 0..<16 {
            let loaded: LoadedVersion
            do {
                guard lifecycle.withLock({ $0.accepting }) else { throw ServingError.shuttingDown }
                loaded = try served.resolve(selector)
            } catch let error as ServingError {
                served.metrics.recordUnresolved(RequestOutcome(error))
                logger.debug("prediction refused", metadata: [
                    "model": "\(name)", "version": "\(selector)", "request-id": "\(requestID)",
                    "outcome": "\(RequestOutcome(error).rawValue)", "error": "\(error)"])
                throw error
            }
            do {
                return try await predict(on: loaded, of: served, inputs: inputs, deadline: deadline,
                                         requestID: requestID, started: started)
            } catch is VersionClosed {
                continue
            }
        }
        throw ServingError.noServingVersion(model: name, reason: "versions kept closing while the request was routed")
    }

    /// The version closed before the request could be queued on it.
    private struct VersionClosed: Error {}

    private func predict(on loaded: LoadedVersion, of served: ServedModel, inputs: [String: Tensor],
                         deadline: ContinuousClock.Instant?, requestID: UInt64,
                         started: ContinuousClock.Instant) async throws -> Prediction {
        let name = served.name
        do {
            let rows: Int
            do {
                rows = try InputValidation.validate(inputs, against: loaded.inputs, batchSymbol: loaded.batchPolicy?.symbol)
            } catch {
                throw ServingError.invalidInput(model: name, version: loaded.version, error)
            }
            if Task.isCancelled { throw ServingError.cancelled(model: name) }
            if let deadline, deadline <= .now { throw ServingError.deadlineExceeded(model: name) }
            // Alone on this version: no queue to join and no batch to form, so a direct run costs nobody.
            let alone = loaded.counters.inFlight.add(1, ordering: .relaxed).oldValue == 0
            served.metrics.inFlight.increment()
            defer {
                loaded.counters.inFlight.subtract(1, ordering: .relaxed)
                served.metrics.inFlight.decrement()
            }
            let completed: CompletedRequest
            if alone, let direct = loaded.runDirectlyIfIdle(inputs, rows: rows) {
                // A direct run never suspends; yield so that a caller predicting in a loop cannot keep a
                // thread of the cooperative pool from the tasks waiting for it.
                await Task.yield()
                completed = try direct.get()
            } else {
                completed = try await enqueue(inputs, rows: rows, on: loaded, of: served, deadline: deadline,
                                              requestID: requestID)
            }

            let duration = ContinuousClock.now - started
            loaded.counters.succeeded.add(1, ordering: .relaxed)
            loaded.metrics.record(.success)
            loaded.metrics.requestDuration.recordNanoseconds(duration.nanoseconds)
            loaded.metrics.queueDuration.recordNanoseconds(completed.queueTime.nanoseconds)
            logger.trace("prediction", metadata: [
                "model": "\(name)", "version": "\(loaded.version)", "request-id": "\(requestID)",
                "duration-us": "\(duration.nanoseconds / 1000)", "batch-rows": "\(completed.batchRows)",
                "outcome": "success"])
            return Prediction(model: name, version: loaded.version, outputs: completed.outputs)
        } catch let error as ServingError {
            let outcome = RequestOutcome(error)
            if outcome != .overloaded { loaded.counters.failed.add(1, ordering: .relaxed) }
            loaded.metrics.record(outcome)
            let duration = ContinuousClock.now - started
            loaded.metrics.requestDuration.recordNanoseconds(duration.nanoseconds)
            let level: Logger.Level = outcome == .failed ? .warning : .debug
            logger.log(level: level, "prediction failed", metadata: [
                "model": "\(name)", "version": "\(loaded.version)", "request-id": "\(requestID)",
                "duration-us": "\(duration.nanoseconds / 1000)", "outcome": "\(outcome.rawValue)",
                "error": "\(error)"])
            throw error
        }
    }

    /// Queues a request on `loaded` and waits for a worker to run it, honouring the deadline and
    /// the caller's cancellation while it waits.
    private func enqueue(_ inputs: [String: Tensor], rows: Int, on loaded: LoadedVersion, of served: ServedModel,
                         deadline: ContinuousClock.Instant?, requestID: UInt64) async throws -> CompletedRequest {
        let name = served.name
        guard served.queue.reserve() else {
            loaded.counters.rejected.add(1, ordering: .relaxed)
            throw ServingError.overloaded(model: name, queueCapacity: served.queue.capacity)
        }
        let signature = loaded.batchPolicy == nil ? ShapeSignature.unbatched
            : ShapeSignature(inputs, declared: loaded.inputs)
        let timer = deadline.map { deadline in
            Task {
                try? await Task.sleep(until: deadline, clock: .continuous)
                guard !Task.isCancelled, let expired = loaded.scheduler.remove(id: requestID) else { return }
                expired.continuation.resume(throwing: ServingError.deadlineExceeded(model: name))
            }
        }
        defer { timer?.cancel() }

        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<CompletedRequest, any Error>) in
                let request = QueuedRequest(id: requestID, inputs: inputs, rows: rows, signature: signature,
                                            enqueued: .now, continuation: continuation)
                guard loaded.scheduler.submit(request) else {
                    served.queue.release(1)
                    continuation.resume(throwing: VersionClosed())
                    return
                }
                // Cancelled between the caller's check and queueing: the handler found nothing to remove.
                if Task.isCancelled, let removed = loaded.scheduler.remove(id: requestID) {
                    removed.continuation.resume(throwing: ServingError.cancelled(model: name))
                }
            }
        } onCancel: {
            if let removed = loaded.scheduler.remove(id: requestID) {
                removed.continuation.resume(throwing: ServingError.cancelled(model: name))
            }
        }
    }

    /// A prediction that arrives before anything was loaded waits for the first look at the store
    /// instead of failing with "unknown model".
    func awaitFirstReload() async {
        let mustStart = lifecycle.withLock { state -> Bool in
            defer { state.firstReloadStarted = true }
            return !state.firstReloadStarted
        }
        if mustStart {
            await reload()
        } else {
            await firstReloadFinished.wait()
        }
    }

    // MARK: Store changes

    /// Looks at the store now and applies what changed: loads and warms up new versions, moves
    /// traffic to them, drains and unloads versions no longer wanted. Returns once traffic has
    /// moved (draining continues in the background). Polling calls this every `pollInterval`.
    public func reload() async {
        lifecycle.withLock { $0.firstReloadStarted = true }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            reconcileQueue.async {
                self.reconcileAll()
                continuation.resume()
            }
        }
        firstReloadFinished.fire()
    }

    // MARK: Status

    /// Every model the server knows, with its versions, their states, labels and counters.
    public func status() async -> [ModelStatus] {
        models.withLock { Array($0.values) }.map { $0.status() }.sorted { $0.model < $1.model }
    }

    /// One model's status, or nil when the server does not know the model.
    public func status(model: String) async -> ModelStatus? {
        models.withLock { $0[model] }?.status()
    }

    // MARK: Lifecycle

    /// Polls the store and serves until graceful shutdown (or cancellation, or ``shutdown()``), then
    /// stops accepting requests, finishes every accepted one, unloads all versions and returns.
    public func run() async throws {
        let alreadyRunning = lifecycle.withLock { state -> Bool in
            defer { state.running = true }
            return state.running
        }
        guard !alreadyRunning else {
            logger.warning("ModelServer.run() called while already running; waiting for the running one to stop")
            await shutdownFinished.wait()
            return
        }
        logger.info("model server starting", metadata: ["root": "\(store.root.path(percentEncoded: false))"])
        await withTaskCancellationOrGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.pollStore() }
                await self.stopRequested.wait()
                group.cancelAll()
            }
        } onCancelOrGracefulShutdown: {
            self.stopRequested.fire()
        }
        await shutdown()
    }

    private func pollStore() async {
        await reload()
        guard let interval = configuration.pollInterval else { return }
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            await reload()
        }
    }

    /// Stops accepting requests, lets every queued and running request finish, unloads all
    /// versions, and returns. Also ends ``run()``. Calling it again waits for the first call.
    public func shutdown() async {
        stopRequested.fire()
        let first = lifecycle.withLock { state -> Bool in
            defer { state.accepting = false }
            return state.accepting
        }
        guard first else {
            await shutdownFinished.wait()
            return
        }
        logger.info("model server shutting down: finishing accepted requests")
        // A load in progress finishes first; later reconciles see `accepting == false` and do nothing.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            reconcileQueue.async { continuation.resume() }
        }
        var draining: [(ServedModel, LoadedVersion)] = []
        for served in models.withLock({ Array($0.values) }) {
            served.state.withLock { state in
                state.routing = Routing(storeLabels: state.routing.storeLabels,
                                        latestUnavailableReason: "the server is shutting down")
                for (version, entry) in state.entries where entry.state == .ready || entry.state == .draining {
                    guard let loaded = entry.loaded else { continue }
                    state.entries[version]?.state = .draining
                    entry.metrics.recordState(.draining)
                    draining.append((served, loaded))
                }
            }
        }
        for (_, loaded) in draining { loaded.close() }
        for (served, loaded) in draining {
            await loaded.drained.wait()
            finishUnload(loaded, of: served)
        }
        logger.info("model server stopped")
        shutdownFinished.fire()
    }
}
