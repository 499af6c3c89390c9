#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// The process's intra-op worker threads: one per core but the caller's, shared by every session.
///
/// A run issues many short parallel regions back to back (one or more per node). Waking a sleeping
/// thread for each costs tens of microseconds on a virtual machine with idle cores, more than many
/// regions take, so after finishing its part a worker spins for a short while (``spinLimit``) waiting
/// for the next region before it sleeps. The spin is bounded: after a run returns, workers are idle
/// within that time. A region that finds the pool busy (another run's region, or a region started
/// from inside a region) runs on the calling thread alone rather than waiting.
///
/// A region is cut into pieces that the participants claim one at a time, the calling thread
/// included. On a virtual machine a vCPU is regularly late (descheduled by the host, or still waking
/// up): with one fixed piece per thread every region then waited for it, and 2-thread runs swung
/// between fast and slow phases far more than ONNX Runtime's. So whoever is running takes the next
/// piece, and the caller waits only for pieces already claimed, never for a worker that has not
/// shown up; a worker that arrives after the last piece is taken does nothing.
///
/// Each participant first claims the pieces of its own home range (participant `p` of `P` owns the
/// `p`-th contiguous `1/P` of the pieces), and only then takes pieces left in the others' ranges.
/// Consecutive operators usually cut their work the same way (rows or positions in order), so
/// while every thread is on time, each keeps working on the data it wrote itself, in its own
/// L2. With one shared counter, pieces went to whoever came first and the data crossed between
/// cores from one operator to the next. Sums of per-node minimums at 2 threads, the shared counter
/// against home ranges (binaries alternated): MobileNetV2 channels-last 5.44 → 5.25 ms, SqueezeNet
/// 4.99 → 4.63, ResNet-18 and all-MiniLM-L6-v2 level.
package final class IntraOpPool: @unchecked Sendable {
    // @unchecked: `job` is written only by the dispatching thread while it holds `dispatching`,
    // before it publishes the region in `claims` (release). A worker reads it only after claiming a
    // piece of that region (acquire), and the dispatching thread neither returns nor writes `job`
    // again until every claimed piece is counted in `completed`.

    package static let shared = IntraOpPool(workers: max(0, ProcessInfo.processInfo.activeProcessorCount - 1))

    /// How long a worker keeps polling for a new region after its last one before it sleeps.
    package static let spinLimit: Duration = .microseconds(
        Int64(ProcessInfo.processInfo.environment["KILN_POOL_SPIN_US"].flatMap(Int.init) ?? 200))

    /// Most pieces and participants one region can have (the widths of their fields in ``Region``).
    package static let maximumPieces = Int(Region.fieldMask)
    package static let maximumParticipants = Int(Region.participantMask)

    /// Worker threads (the dispatching thread is the extra participant).
    package let workers: Int
    private let dispatching = Mutex<Bool>(false)
    /// The current region: generation, participants and pieces packed into one word.
    private let claims = Atomic<UInt64>(0)
    /// Per participant, the next piece of its home range, tagged with the region's generation so
    /// that a claim (one compare-and-swap) also checks the region is still the one the claimer
    /// woke up for.
    /// Unmanaged (created once, kept for the process's life): taking a strong reference per claim
    /// cost a retain and a release, two atomic operations on the cache line of the counter itself.
    private let homes: [Unmanaged<HomeRange>]
    /// Pieces of the current region the workers finished (each adds its count when it runs out of
    /// pieces; the dispatching thread counts its own locally).
    private let completed = Atomic<Int>(0)
    private let sleepers = NSCondition()
    private var job: ((_ participant: Int, _ piece: Int) -> Void)?
    /// Generation of the last region dispatched; written only while holding `dispatching`.
    private var lastGeneration: UInt64 = 0

    private final class HomeRange: Sendable {
        /// Generation (upper 32 bits) and the next piece to hand out (lower 32, so a claim adds 1).
        let next = Atomic<UInt64>(0)
        /// Keeps two participants' counters off one cache line.
        let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
    }

    /// Field layout of `claims`: generation (upper 32 bits), participants (10), pieces (11).
    private enum Region {
        static let fieldMask: UInt64 = (1 << 11) - 1
        static let participantMask: UInt64 = (1 << 10) - 1
        static func pack(generation: UInt64, participants: Int, pieces: Int) -> UInt64 {
            (generation << 32) | (UInt64(participants) << 22) | (UInt64(pieces) << 11)
        }
        static func generation(_ word: UInt64) -> UInt64 { word >> 32 }
        static func participants(_ word: UInt64) -> Int { Int((word >> 22) & participantMask) }
        static func pieces(_ word: UInt64) -> Int { Int((word >> 11) & fieldMask) }
        /// The first piece of participant `participant`'s home range.
        static func homeStart(_ participant: Int, participants: Int, pieces: Int) -> Int {
            participant * pieces / participants
        }
    }

    private init(workers: Int) {
        self.workers = workers
        homes = (0...min(workers, Self.maximumParticipants)).map { _ in Unmanaged.passRetained(HomeRange()) }
        for index in 0..<workers {
            let thread = Thread { self.workerLoop(index: index + 1) }
            thread.name = "kiln-intra-op-\(index + 1)"
            thread.start()
        }
    }

    /// Runs `body(participant, piece)` for every piece in `0..<pieces` on up to `participants`
    /// threads (participant 0 is the calling thread; every participant index is below
    /// `participants`, and one participant's calls never overlap, so it can own a slice of scratch)
    /// and returns when all are done. Returns false, having run nothing, when the pool is taken or
    /// there is nobody to share with; the caller then runs the pieces itself.
    package func run(pieces: Int, participants: Int, _ body: (_ participant: Int, _ piece: Int) -> Void) -> Bool {
        let participants = min(participants, workers + 1, Self.maximumParticipants)
        guard pieces > 1, participants > 1, pieces <= Self.maximumPieces else { return false }
        let acquired = dispatching.withLock { busy -> Bool in
            if busy { return false }
            busy = true
            return true
        }
        guard acquired else { return false }
        defer { dispatching.withLock { $0 = false } }
        lastGeneration &+= 1
        let generation = lastGeneration & 0xFFFF_FFFF
        withoutActuallyEscaping(body) { body in
            job = body
            completed.store(0, ordering: .relaxed)
            for participant in 0..<participants {
                let start = Region.homeStart(participant, participants: participants, pieces: pieces)
                homes[participant]._withUnsafeGuaranteedRef {
                    $0.next.store((generation << 32) | UInt64(start), ordering: .relaxed)
                }
            }
            sleepers.lock()
            claims.store(Region.pack(generation: generation, participants: participants, pieces: pieces),
                         ordering: .releasing)
            sleepers.broadcast()
            sleepers.unlock()
            var mine = 0
            while let piece = claim(participant: 0, generation: generation, participants: participants, pieces: pieces) {
                body(0, piece)
                mine += 1
            }
            // Only pieces some worker has claimed are left, and they are running. Each worker
            // counts its pieces in one addition when it runs out, not one per piece: both cores
            // adding to one counter moved its cache line back and forth for every piece.
            while completed.load(ordering: .acquiring) < pieces - mine {}
            job = nil
        }
        return true
    }

    /// Takes the next piece of region `generation` for `participant`: from its home range while that
    /// lasts, then from the others' in turn; nil when none is left or the region is over.
    private func claim(participant: Int, generation: UInt64, participants: Int, pieces: Int) -> Int? {
        for offset in 0..<participants {
            let owner = (participant + offset) % participants
            let end = Region.homeStart(owner + 1, participants: participants, pieces: pieces)
            let claimed = homes[owner]._withUnsafeGuaranteedRef { home -> Int? in
                var word = home.next.load(ordering: .acquiring)
                while word >> 32 == generation && Int(word & 0xFFFF_FFFF) < end {
                    let (exchanged, original) = home.next.compareExchange(
                        expected: word, desired: word + 1, successOrdering: .acquiringAndReleasing,
                        failureOrdering: .acquiring)
                    if exchanged { return Int(word & 0xFFFF_FFFF) }
                    word = original
                }
                return nil
            }
            if let claimed { return claimed }
        }
        return nil
    }

    private func workerLoop(index: Int) {
        var seen: UInt64 = 0
        while true {
            // Poll for the next region for a while, then sleep until one arrives.
            let spinUntil = ContinuousClock.now + IntraOpPool.spinLimit
            var word = claims.load(ordering: .acquiring)
            var polls = 0
            while Region.generation(word) == seen {
                polls += 1
                if polls & 255 == 0 && ContinuousClock.now >= spinUntil { break }
                word = claims.load(ordering: .acquiring)
            }
            if Region.generation(word) == seen {
                sleepers.lock()
                while Region.generation(claims.load(ordering: .acquiring)) == seen { sleepers.wait() }
                sleepers.unlock()
                word = claims.load(ordering: .acquiring)
            }
            seen = Region.generation(word)
            let participants = Region.participants(word), pieces = Region.pieces(word)
            guard index < participants,
                  let first = claim(participant: index, generation: seen, participants: participants, pieces: pieces)
            else { continue }
            let finished = runPieces(participant: index, first: first, generation: seen, participants: participants,
                                     pieces: pieces)
            completed.add(finished, ordering: .releasing)
        }
    }

    /// Runs `first` and every further piece the worker can claim, and returns how many. It holds
    /// the job (one reference for the whole region instead of one per piece), and the reference
    /// ends when it returns, before the pieces are counted: the dispatching thread's
    /// `withoutActuallyEscaping` must find the job unreferenced once all pieces are counted.
    @inline(never)
    private func runPieces(participant: Int, first: Int, generation: UInt64, participants: Int, pieces: Int) -> Int {
        guard let job else { return 0 }
        var piece = first, count = 0
        while true {
            job(participant, piece)
            count += 1
            guard let next = claim(participant: participant, generation: generation, participants: participants,
                                   pieces: pieces) else { return count }
            piece = next
        }
    }
}
