import Foundation

/// One arena: a single 64-byte-aligned buffer that a planned run carves its intermediates from.
/// Arena storages keep it alive, so it outlives any tensor still pointing into it.
final class ArenaBuffer: @unchecked Sendable {
    let bytes: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = byteCount
        bytes = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: MemoryPlanner.alignment)
    }

    deinit { bytes.deallocate() }
}

/// Arenas of one plan (each with the allocator that replays runs in it) waiting for a run. A run
/// takes one (allocating a new one when all are in use by concurrent runs) and gives it back
/// afterwards; at most `capacity` are kept.
final class ArenaPool: @unchecked Sendable {
    private let byteCount: Int
    private let capacity: Int
    private let lock = NSLock()
    private var idle: [RunAllocator] = []

    init(byteCount: Int, capacity: Int) {
        self.byteCount = byteCount
        self.capacity = capacity
        idle.reserveCapacity(capacity)
    }

    func take() -> RunAllocator {
        lock.lock()
        let allocator = idle.popLast()
        lock.unlock()
        return allocator ?? RunAllocator(arena: ArenaBuffer(byteCount: byteCount))
    }

    /// Keeps `allocator` for a later run. The caller checked that no tensor points into its arena.
    func giveBack(_ allocator: RunAllocator) {
        lock.lock()
        defer { lock.unlock() }
        if idle.count < capacity { idle.append(allocator) }
    }

    var idleCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return idle.count
    }
}

/// The memory plans of a session, by input-shape signature, least recently used evicted first.
final class MemoryPlanCache: @unchecked Sendable {
    private let capacity: Int
    private let lock = NSLock()
    /// Most recently used last.
    private var entries: [(signature: [[Int]], plan: MemoryPlan)] = []

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        entries.reserveCapacity(self.capacity + 1)
    }

    func plan(for signature: [[Int]]) -> MemoryPlan? {
        plan { $0 == signature }
    }

    /// The plan whose signature `matches` accepts (checked without building a signature per run).
    func plan(where matches: ([[Int]]) -> Bool) -> MemoryPlan? {
        lock.lock()
        defer { lock.unlock() }
        guard let position = entries.lastIndex(where: { matches($0.signature) }) else { return nil }
        if position == entries.count - 1 { return entries[position].plan }
        let entry = entries.remove(at: position)
        entries.append(entry)
        return entry.plan
    }

    func insert(_ plan: MemoryPlan, for signature: [[Int]]) {
        lock.lock()
        defer { lock.unlock() }
        // Two first runs of one signature may race; the later plan is as good as the earlier.
        entries.removeAll { $0.signature == signature }
        entries.append((signature, plan))
        if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
    }

    var signatures: [[[Int]]] {
        lock.lock()
        defer { lock.unlock() }
        return entries.map(\.signature)
    }
}
