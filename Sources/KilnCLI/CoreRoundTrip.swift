import Foundation
import Synchronization

/// How long one cache line takes to travel from one thread to another and back: a two-thread
/// ping-pong through one atomic, after a warm-up.
///
/// On the 2-vCPU build machine the host moves the vCPUs between a placement that shares an L3
/// (about 60 ns) and one that does not (about 300 ns) every few seconds. Work that hands data from
/// one thread to the next ran up to 40% slower in the second; `kiln bench` reports the figure so
/// a 2-thread measurement says which placement it ran in.
enum CoreRoundTrip {
    /// Nanoseconds per round trip, or nil on a single CPU.
    static func measure(roundTrips: Int = 20_000, warmUp: Int = 2_000) -> Double? {
        guard ProcessInfo.processInfo.activeProcessorCount >= 2, roundTrips > 0 else { return nil }
        let line = SharedLine()
        let total = warmUp + roundTrips
        let finished = DispatchSemaphore(value: 0)
        let partner = Thread {
            for round in 0..<total {
                while line.value.load(ordering: .acquiring) != 2 * round + 1 {}
                line.value.store(2 * round + 2, ordering: .releasing)
            }
            finished.signal()
        }
        partner.start()
        var start = ContinuousClock.now
        for round in 0..<total {
            if round == warmUp { start = ContinuousClock.now }
            line.value.store(2 * round + 1, ordering: .releasing)
            while line.value.load(ordering: .acquiring) != 2 * round + 2 {}
        }
        let elapsed = ContinuousClock.now - start
        finished.wait()
        let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        return nanoseconds / Double(roundTrips)
    }

    private final class SharedLine: Sendable {
        let value = Atomic<Int>(0)
    }
}
