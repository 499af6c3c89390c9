import Foundation

/// Where ``Tensor/uninitialized(_:shape:)`` takes memory from while a session run executes its
/// steps on the calling thread: the first run of an input-shape signature records what every step
/// allocates (from the heap, as without a plan); later runs of that signature replay the plan and
/// get blocks of a preallocated arena instead.
///
/// One allocator belongs to one run and is installed on the thread executing it, so concurrent runs
/// of a session never share one. Allocations made on other threads (inside `parallelFor` workers)
/// see no allocator and use the heap.
final class RunAllocator {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// The allocator of the run executing on this thread, if any.
    static var current: RunAllocator? {
        guard let raw = pthread_getspecific(key) else { return nil }
        return Unmanaged<RunAllocator>.fromOpaque(raw).takeUnretainedValue()
    }

    /// Set while the allocator replays a run; the allocator and its arena are reused run after run.
    private var plan: MemoryPlan?
    private var arena: ArenaBuffer?
    let recording: MemoryRecording?
    /// Pages for the recording run's large blocks.
    private let recordingPages: RecordingPagePool?
    private var step = 0
    private var index = 0
    /// Kernel scratch buffers of the current step, kept until the step ends.
    private var scratchStorages: [TensorStorage] = []

    /// An allocator that records a run for planning.
    init(recordingSteps stepCount: Int) {
        plan = nil
        arena = nil
        recording = MemoryRecording(stepCount: stepCount)
        recordingPages = RecordingPagePool()
    }

    /// An allocator that hands out blocks of `arena` as planned by the plan of each run.
    init(arena: ArenaBuffer) {
        self.arena = arena
        recording = nil
        recordingPages = nil
    }

    /// Starts replaying `plan` (whose arena size this allocator's arena has).
    func beginReplay(of plan: MemoryPlan) {
        self.plan = plan
        step = 0
        index = 0
    }

    /// Ends a replayed run. True when no tensor points into the arena any more, so the allocator
    /// may serve another run; otherwise the arena stays with whoever still holds it.
    func endReplay() -> Bool {
        plan = nil
        scratchStorages.removeAll(keepingCapacity: true)
        return isKnownUniquelyReferenced(&arena)
    }

    /// Makes this the calling thread's allocator while `body` runs (restoring any outer one, so a
    /// session run nested inside an operator keeps its own).
    func installed<Result>(_ body: () throws -> Result) rethrows -> Result {
        let previous = pthread_getspecific(RunAllocator.key)
        pthread_setspecific(RunAllocator.key, Unmanaged.passUnretained(self).toOpaque())
        defer { pthread_setspecific(RunAllocator.key, previous) }
        return try body()
    }

    /// Runs `body` with no allocator on the calling thread (heap allocation, as without a plan).
    static func uninstalled<Result>(_ body: () throws -> Result) rethrows -> Result {
        guard let previous = pthread_getspecific(RunAllocator.key) else { return try body() }
        pthread_setspecific(RunAllocator.key, nil)
        defer { pthread_setspecific(RunAllocator.key, previous) }
        return try body()
    }

    /// Allocations from now on belong to step `step` of the run.
    func begin(step: Int) {
        self.step = step
        index = 0
        scratchStorages.removeAll(keepingCapacity: true)
    }

    /// The run is past its last step: drop the last step's scratch.
    func endSteps() {
        scratchStorages.removeAll(keepingCapacity: true)
    }

    /// A kernel scratch buffer, planned like any allocation of the step and alive until it ends.
    func scratch(byteCount: Int) -> UnsafeMutableRawPointer {
        let storage = storage(byteCount: byteCount)
        scratchStorages.append(storage)
        return storage.bytes
    }

    func holdsScratch(_ bytes: UnsafeMutableRawPointer) -> Bool {
        scratchStorages.contains { $0.bytes == bytes }
    }

    /// Storage for the next allocation of the current step: its planned arena block when the plan
    /// has one of exactly this size, the heap otherwise (a shape the plan did not foresee).
    func storage(byteCount: Int) -> TensorStorage {
        let position = index
        index += 1
        if let plan, let arena {
            if let block = plan.block(step: step, index: position), block.byteCount == byteCount {
                return TensorStorage(arenaBytes: arena.bytes + block.offset, byteCount: byteCount, arena: arena,
                                     releaseStep: block.releaseStep)
            }
            return TensorStorage(uninitializedByteCount: byteCount)
        }
        // Recording: large blocks from pages of their own (``RecordingPagePool``), so that the
        // heap does not keep the whole run's memory resident.
        let lease = byteCount >= RecordingPagePool.minimumByteCount ? recordingPages?.lease(byteCount: byteCount) : nil
        let storage = lease.map { TensorStorage(lease: $0, byteCount: byteCount) }
            ?? TensorStorage(uninitializedByteCount: byteCount)
        recording?.noteAllocation(step: step, byteCount: byteCount, storage: storage)
        return storage
    }
}

/// What one run allocated, step by step, and how long each allocation stayed reachable: the input
/// of ``MemoryPlanner``. Lifetimes are per storage, so a view (Reshape, Identity...) keeps the
/// bytes it shares alive until its own last reader.
final class MemoryRecording {
    struct Allocation {
        let step: Int
        let byteCount: Int
        /// The last step that may read the bytes (the step itself for scratch memory).
        var lastStep: Int
        /// True when the bytes outlive the run (a graph output) or were kept by something other
        /// than the run's values; such allocations stay on the heap.
        var escapes = false
        weak var storage: TensorStorage?
    }

    private(set) var allocations: [Allocation] = []
    private var byIdentity: [ObjectIdentifier: Int] = [:]
    /// Per step: allocations read by the step (through any value sharing their storage).
    private(set) var inputAllocations: [[Int]]
    /// Per step: allocations made by the step that became one of its outputs.
    private(set) var outputAllocations: [[Int]]
    /// Allocations whose death has not been confirmed yet.
    private var unconfirmed: [Int] = []

    init(stepCount: Int) {
        inputAllocations = Array(repeating: [], count: stepCount)
        outputAllocations = Array(repeating: [], count: stepCount)
        // Sized up front: tables growing between the run's large buffers fragment the heap, and
        // glibc then keeps the recording run's memory resident beside the arena.
        allocations.reserveCapacity(4 * stepCount)
        byIdentity.reserveCapacity(4 * stepCount)
        unconfirmed.reserveCapacity(4 * stepCount)
    }

    func noteAllocation(step: Int, byteCount: Int, storage: TensorStorage) {
        byIdentity[ObjectIdentifier(storage)] = allocations.count
        unconfirmed.append(allocations.count)
        allocations.append(Allocation(step: step, byteCount: byteCount, lastStep: step, storage: storage))
    }

    /// The recorded allocation behind `storage`; the weak reference guards against an address
    /// reused by storage allocated elsewhere.
    private func allocation(of storage: TensorStorage) -> Int? {
        guard let index = byIdentity[ObjectIdentifier(storage)], allocations[index].storage === storage else {
            return nil
        }
        return index
    }

    func noteInputs(step: Int, _ arguments: [Tensor?]) {
        for case let tensor? in arguments {
            if let index = allocation(of: tensor.storage), !inputAllocations[step].contains(index) {
                inputAllocations[step].append(index)
            }
        }
    }

    /// Records that `results[j]` stays readable until step `lastReads[j]` (`Int.max`: returned to
    /// the caller).
    func noteOutputs(step: Int, _ results: [Tensor], lastReads: [Int]) {
        for (tensor, lastRead) in zip(results, lastReads) {
            guard let index = allocation(of: tensor.storage) else { continue }
            allocations[index].lastStep = max(allocations[index].lastStep, lastRead)
            if lastRead == Int.max { allocations[index].escapes = true }
            if allocations[index].step == step, !outputAllocations[step].contains(index) {
                outputAllocations[step].append(index)
            }
        }
    }

    /// A step whose output is its inputs laid end to end (``Operator/joinsContiguously(_:)``).
    struct Join {
        let step: Int
        let output: Int
        /// The allocation behind each input, in order, or nil for one the run did not allocate
        /// (a graph input, a constant) or that does not fill its allocation exactly.
        let inputs: [Int?]
        let inputByteCounts: [Int]
    }

    private(set) var joins: [Join] = []

    func noteJoin(step: Int, inputs: [Tensor?], output: Tensor) {
        guard let outputIndex = allocation(of: output.storage) else { return }
        let tensors = inputs.compactMap { $0 }
        joins.append(Join(step: step, output: outputIndex, inputs: tensors.map { tensor in
            allocation(of: tensor.storage).flatMap { allocations[$0].byteCount == tensor.byteCount ? $0 : nil }
        }, inputByteCounts: tensors.map(\.byteCount)))
    }

    /// Called once every value of steps up to `step` that should be dead has been dropped: an
    /// allocation still alive past its last step was kept by an operator (a cache, say), so it
    /// must never be given arena memory.
    func confirmReleased(throughStep step: Int) {
        unconfirmed.removeAll { index in
            guard allocations[index].lastStep <= step else { return false }
            if allocations[index].storage != nil { allocations[index].escapes = true }
            return true
        }
    }
}
