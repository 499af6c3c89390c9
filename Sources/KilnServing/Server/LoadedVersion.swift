import Foundation
import Kiln
import Logging
import Synchronization

/// Counters of one version, kept after it unloads so the status can still report them.
final class VersionCounters: Sendable {
    let succeeded = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let rejected = Atomic<Int>(0)
    let inFlight = Atomic<Int>(0)
    let batches = Atomic<Int>(0)
}

/// Test-only interception points (package access: the serving tests use them to hold a worker).
package struct ServerHooks: Sendable {
    /// Runs on the worker thread just before a batch runs, with the model, version and row count.
    package var beforeBatch: (@Sendable (_ model: String, _ version: Int, _ rows: Int) -> Void)?

    package init(beforeBatch: (@Sendable (String, Int, Int) -> Void)? = nil) {
        self.beforeBatch = beforeBatch
    }
}

/// A version that loaded and warmed up: its sessions, its queue and the worker threads that run it.
final class LoadedVersion: Sendable {
    let model: String
    let version: Int
    let sessions: [InferenceSession]
    let inputs: [ValueInfo]
    let scheduler: BatchScheduler
    let counters: VersionCounters
    let metrics: VersionMetrics
    private let logger: Logger
    private let hooks: ServerHooks
    /// Whether a caller may run a request on its own thread when an instance is idle and nothing is
    /// queued: only for versions whose warm-up run was short enough not to hold up the caller's
    /// thread pool, and not when requests are meant to wait for batches to fill.
    let allowsDirectRuns: Bool

    init(model: String, version: Int, sessions: [InferenceSession], policy: BatchPolicy?, queue: ModelQueue,
         counters: VersionCounters, metrics: VersionMetrics, logger: Logger, hooks: ServerHooks,
         allowsDirectRuns: Bool) {
        self.model = model
        self.version = version
        self.sessions = sessions
        self.inputs = sessions[0].inputs
        self.scheduler = BatchScheduler(policy: policy, instances: sessions.count) { count in queue.release(count) }
        self.counters = counters
        self.metrics = metrics
        self.logger = logger
        self.hooks = hooks
        self.allowsDirectRuns = allowsDirectRuns && hooks.beforeBatch == nil
            && (policy?.maxQueueDelay ?? .zero) == .zero
    }

    var batchPolicy: BatchPolicy? { scheduler.policy }

    /// Fires when the version has been closed and its last request has finished.
    var drained: OneShotEvent { scheduler.drained }

    /// Starts one worker thread per session.
    func start() {
        for instance in sessions.indices {
            let thread = Thread { [self] in
                while let batch = scheduler.nextBatch(instance: instance) {
                    execute(batch, on: sessions[instance])
                    scheduler.finishedBatch(instance: instance)
                }
            }
            thread.name = "kiln-\(model)-v\(version)-\(instance)"
            thread.start()
        }
    }

    /// Stops intake; queued and running requests still finish, then ``drained`` fires.
    func close() {
        scheduler.close()
    }

    /// Runs one request on the caller's thread when an instance is idle and nothing is queued; nil
    /// when the request must go through the queue instead.
    func runDirectlyIfIdle(_ inputs: [String: Tensor], rows: Int) -> Result<CompletedRequest, ServingError>? {
        guard allowsDirectRuns, let instance = scheduler.claimIdleInstance() else { return nil }
        defer { scheduler.releaseInstance(instance) }
        let started = ContinuousClock.now
        let result: Result<[String: Tensor], ServingError>
        do {
            result = .success(try sessions[instance].run(inputs))
        } catch {
            result = .failure(.inferenceFailed(model: model, version: version, reason: "\(error)"))
        }
        let computeTime = ContinuousClock.now - started
        counters.batches.add(1, ordering: .relaxed)
        metrics.computeDuration.recordNanoseconds(computeTime.nanoseconds)
        metrics.batchSize.record(rows)
        return result.map {
            CompletedRequest(outputs: $0, queueTime: .zero, computeTime: computeTime, batchRows: rows)
        }
    }

    /// Runs one batch and answers each of its requests.
    private func execute(_ batch: [QueuedRequest], on session: InferenceSession) {
        let rows = batch.reduce(0) { $0 + $1.rows }
        hooks.beforeBatch?(model, version, rows)
        let started = ContinuousClock.now
        var results: [Result<[String: Tensor], ServingError>]
        do {
            if batch.count == 1 {
                results = [.success(try session.run(batch[0].inputs))]
            } else {
                let stacked = try TensorBatching.stackInputs(batch.map(\.inputs), names: inputs.map(\.name))
                let outputs = try session.run(stacked)
                results = try TensorBatching.splitOutputs(outputs, rows: batch.map(\.rows)).map { .success($0) }
            }
        } catch {
            if batch.count > 1 {
                // One bad request must not fail its neighbours: run each alone to find it.
                logger.debug("batch failed, retrying its requests one by one",
                             metadata: ["version": "\(version)", "rows": "\(rows)", "error": "\(error)"])
                results = batch.map { request in
                    do {
                        return .success(try session.run(request.inputs))
                    } catch {
                        return .failure(.inferenceFailed(model: model, version: version, reason: "\(error)"))
                    }
                }
            } else {
                results = [.failure(.inferenceFailed(model: model, version: version, reason: "\(error)"))]
            }
        }
        let computeTime = ContinuousClock.now - started
        counters.batches.add(1, ordering: .relaxed)
        metrics.computeDuration.recordNanoseconds(computeTime.nanoseconds)
        metrics.batchSize.record(rows)
        for (request, result) in zip(batch, results) {
            switch result {
            case .success(let outputs):
                request.continuation.resume(returning: CompletedRequest(
                    outputs: outputs, queueTime: started - request.enqueued, computeTime: computeTime, batchRows: rows))
            case .failure(let error):
                request.continuation.resume(throwing: error)
            }
        }
    }
}
