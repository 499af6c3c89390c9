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
    ///
    /// With both threads on one CPU (an affinity mask such as `taskset -c 0`, which the processor
    /// count does not show) every hand-over waits for the other thread's time slice, and 22,000 of
    /// them took minutes. The clock is checked every 64 round trips; past `budget` the measurement
    /// stops and reports the average over the round trips made so far (milliseconds, which says
    /// just as clearly that the threads cannot run side by side).
    static func measure(roundTrips: Int = 20_000, warmUp: Int = 2_000, budget: Duration = .milliseconds(100)) -> Double? {
        guard ProcessInfo.processInfo.activeProcessorCount >= 2, roundTrips > 0 else { return nil }
        let line = SharedLine()
        let total = warmUp + roundTrips
        let finished = DispatchSemaphore(value: 0)
        let partner = Thread {
            defer { finished.signal() }
            for round in 0..<total {
                while true {
                    let value = line.value.load(ordering: .acquiring)
                    if value == 2 * round + 1 { break }
                    if value == SharedLine.stop { return }
                }
                line.value.store(2 * round + 2, ordering: .releasing)
            }
        }
        partner.start()
        let clock = ContinuousClock()
        let began = clock.now
        var start = began
        for round in 0..<total {
            if round == warmUp { start = clock.now }
            if round % 64 == 0, round > 0, clock.now - began > budget {
                // The partner is waiting for this round's ping, so it sees the stop instead.
                line.value.store(SharedLine.stop, ordering: .releasing)
                finished.wait()
                return (clock.now - began).milliseconds * 1e6 / Double(round)
            }
            line.value.store(2 * round + 1, ordering: .releasing)
            while line.value.load(ordering: .acquiring) != 2 * round + 2 {}
        }
        let elapsed = clock.now - start
        finished.wait()
        return elapsed.milliseconds * 1e6 / Double(roundTrips)
    }

    private final class SharedLine: Sendable {
        /// Tells the partner to return (no round's value is negative).
        static let stop = -1
        let value = Atomic<Int>(0)
    }
}
