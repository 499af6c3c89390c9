import Foundation
import Kiln

/// What a worker hands back to the waiting caller.
struct CompletedRequest: Sendable {
    let outputs: [String: Tensor]
    /// Time between enqueue and the start of the run.
    let queueTime: Duration
    /// Time the run took (the whole batch's run).
    let computeTime: Duration
    /// Rows in the batch the request ran in.
    let batchRows: Int
}

/// A request waiting for a session.
struct QueuedRequest: Sendable {
    let id: UInt64
    let inputs: [String: Tensor]
    /// Size of axis 0 when batching, else 1.
    let rows: Int
    let signature: ShapeSignature
    let enqueued: ContinuousClock.Instant
    let continuation: CheckedContinuation<CompletedRequest, any Error>
}

/// The queue of one loaded version, the rule that turns it into batches, and which session
/// instances are busy.
///
/// Workers are dedicated threads (one per session instance) that block in ``nextBatch(instance:)``
/// while there is nothing to do: inference is long synchronous CPU work that must not occupy Swift's
/// cooperative thread pool, where callers' tasks and timers run. The one exception is a short run
/// with nothing queued and an instance idle: the caller may claim that instance and run on its own
/// thread (``claimIdleInstance()``), which saves two thread hand-offs. Each session runs one request
/// or batch at a time. Requests live in one FIFO per ``ShapeSignature``; a worker takes from the group
/// whose head has waited longest among the groups that are ready to run.
///
/// Ownership of a request passes exactly once: either a worker takes it in ``nextBatch(instance:)``
/// or a deadline/cancellation takes it in ``remove(id:)``, both under the lock, and the taker resumes it.
final class BatchScheduler: @unchecked Sendable {
    // Every mutable property below is guarded by `condition` (NSCondition: Mutex cannot wait).
    private let condition = NSCondition()
    private var groups: [ShapeSignature: [QueuedRequest]] = [:]
    private var groupOfRequest: [UInt64: ShapeSignature] = [:]
    private var closed = false
    /// Per instance: a worker batch or a caller's direct run is using its session.
    private var busy: [Bool]
    private var inlineRuns = 0
    private var liveWorkers: Int

    let policy: BatchPolicy?
    /// Called with the number of requests leaving the queue (taken or removed), under the lock.
    private let onLeave: @Sendable (Int) -> Void
    /// Fires once closed, every worker has exited and no direct run is left.
    let drained = OneShotEvent()

    init(policy: BatchPolicy?, instances: Int, onLeave: @escaping @Sendable (Int) -> Void) {
        self.policy = policy
        self.onLeave = onLeave
        self.busy = Array(repeating: false, count: instances)
        self.liveWorkers = instances
    }

    /// Queues a request. Returns false, without queueing, once ``close()`` was called.
    func submit(_ request: QueuedRequest) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return false }
        groups[request.signature, default: []].append(request)
        groupOfRequest[request.id] = request.signature
        condition.signal()
        return true
    }

    /// Takes a request out of the queue if it is still there (not yet taken by a worker).
    func remove(id: UInt64) -> QueuedRequest? {
        condition.lock()
        defer { condition.unlock() }
        guard let signature = groupOfRequest.removeValue(forKey: id),
              let position = groups[signature]?.firstIndex(where: { $0.id == id }),
              let request = groups[signature]?.remove(at: position) else { return nil }
        if groups[signature]?.isEmpty == true { groups[signature] = nil }
        onLeave(1)
        return request
    }

    /// Stops intake; workers empty the queue without waiting for batches to fill, then get nil.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Claims an idle instance for the caller to run one request on directly; nil when anything
    /// is queued (it would overtake it), every instance is busy, or the scheduler is closed.
    func claimIdleInstance() -> Int? {
        condition.lock()
        defer { condition.unlock() }
        guard !closed, groups.isEmpty, let instance = busy.firstIndex(of: false) else { return nil }
        busy[instance] = true
        inlineRuns += 1
        return instance
    }

    /// Ends a direct run started by ``claimIdleInstance()``.
    func releaseInstance(_ instance: Int) {
        condition.lock()
        defer { condition.unlock() }
        busy[instance] = false
        inlineRuns -= 1
        // The instance's worker may be waiting for its session to serve the queue, or to exit.
        if !groups.isEmpty || closed { condition.broadcast() }
        fireDrainedIfDone()
    }

    /// Ends a worker's batch.
    func finishedBatch(instance: Int) {
        condition.lock()
        busy[instance] = false
        condition.unlock()
    }

    /// Caller holds the lock.
    private func fireDrainedIfDone() {
        if closed && liveWorkers == 0 && inlineRuns == 0 { drained.fire() }
    }

    /// Requests waiting right now.
    var queuedCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return groupOfRequest.count
    }

    /// Blocks the worker of `instance` until a batch is ready and its session free, and returns the
    /// batch; nil once closed and empty (the worker then exits).
    func nextBatch(instance: Int) -> [QueuedRequest]? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if groups.isEmpty {
                if closed {
                    liveWorkers -= 1
                    fireDrainedIfDone()
                    return nil
                }
                condition.wait()
                continue
            }
            if busy[instance] {
                condition.wait()
                continue
            }
            let now = ContinuousClock.now
            var best: (signature: ShapeSignature, count: Int, headID: UInt64)?
            var earliestDue: ContinuousClock.Instant?
            for (signature, queue) in groups {
                let decision = decide(queue, now: now)
                switch decision {
                case .take(let count):
                    if queue[0].id < best?.headID ?? .max { best = (signature, count, queue[0].id) }
                case .wait(let due):
                    earliestDue = min(earliestDue ?? due, due)
                }
            }
            if let best {
                let batch = take(best.signature, count: best.count)
                busy[instance] = true
                // Another idle worker may serve what is left.
                if !groups.isEmpty { condition.signal() }
                return batch
            }
            if let earliestDue {
                let seconds = Double((earliestDue - now).components.attoseconds) / 1e18
                    + Double((earliestDue - now).components.seconds)
                _ = condition.wait(until: Date(timeIntervalSinceNow: max(seconds, 0)))
            }
        }
    }

    private enum Decision {
        case take(Int)
        case wait(until: ContinuousClock.Instant)
    }

    /// Whether the head of one group should run now, and with how many requests.
    private func decide(_ queue: [QueuedRequest], now: ContinuousClock.Instant) -> Decision {
        guard let policy else { return .take(1) }
        var rows = 0
        var count = 0
        var preferredCount = 0
        for request in queue {
            // A request larger than the maximum still runs, alone.
            if count > 0 && rows + request.rows > policy.maxBatchSize { break }
            rows += request.rows
            count += 1
            if policy.preferredBatchSizes.contains(rows) { preferredCount = count }
        }
        if rows >= policy.maxBatchSize || count < queue.count || closed { return .take(count) }
        if preferredCount > 0 { return .take(preferredCount) }
        let due = queue[0].enqueued + policy.maxQueueDelay
        return now >= due ? .take(count) : .wait(until: due)
    }

    private func take(_ signature: ShapeSignature, count: Int) -> [QueuedRequest] {
        guard var queue = groups[signature] else { return [] }
        let batch = Array(queue.prefix(count))
        queue.removeFirst(batch.count)
        groups[signature] = queue.isEmpty ? nil : queue
        for request in batch { groupOfRequest[request.id] = nil }
        onLeave(batch.count)
        return batch
    }
}
