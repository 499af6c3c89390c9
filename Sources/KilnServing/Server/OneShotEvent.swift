import Synchronization

/// Something that happens once (shutdown requested, a version drained); any number of tasks can
/// wait for it, before or after it fires.
final class OneShotEvent: Sendable {
    private struct State {
        var fired = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Fires the event; returns false when it had already fired.
    @discardableResult
    func fire() -> Bool {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>]? in
            guard !state.fired else { return nil }
            state.fired = true
            defer { state.waiters = [] }
            return state.waiters
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume() }
        return true
    }

    var hasFired: Bool { state.withLock { $0.fired } }

    /// Returns once the event has fired.
    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.fired { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}
