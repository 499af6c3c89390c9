/// Where every intermediate allocation of a run goes, for one input-shape signature: an offset in a
/// single arena, or the heap for memory that outlives the run. Made by ``MemoryPlanner`` from a
/// recorded run; replayed by ``RunAllocator``.
package final class MemoryPlan: Sendable {
    /// The k-th allocation of a step.
    struct Block: Sendable {
        /// Byte offset in the arena.
        let offset: Int
        /// The exact size recorded; any other size at replay goes to the heap.
        let byteCount: Int
        /// The last step that reads it.
        let releaseStep: Int
    }

    /// A range of the arena and the steps during which it is in use (inclusive), shared by the
    /// allocations an in-place elementwise chain hands on to each other.
    package struct Placement: Sendable, Equatable {
        package let offset: Int
        package let byteCount: Int
        package let firstStep: Int
        package let lastStep: Int
    }

    /// Blocks of all steps, step after step; nil for an allocation left on the heap.
    private let blocks: [Block?]
    /// Index in `blocks` of each step's first allocation.
    private let firstBlock: [Int]
    /// Bytes the arena needs.
    package let arenaByteCount: Int
    package let placements: [Placement]
    /// Allocations that reuse the block of an input dying at the same step.
    package let inPlaceCount: Int
    /// Concat inputs placed inside their Concat's output, which then copies nothing for them.
    package let joinedCount: Int
    /// Arenas for this plan, reused across runs; one per concurrent run.
    let pool: ArenaPool

    init(blocks: [Block?], firstBlock: [Int], arenaByteCount: Int, placements: [Placement], inPlaceCount: Int,
         joinedCount: Int, poolCapacity: Int) {
        self.blocks = blocks
        self.firstBlock = firstBlock
        self.arenaByteCount = arenaByteCount
        self.placements = placements
        self.inPlaceCount = inPlaceCount
        self.joinedCount = joinedCount
        pool = ArenaPool(byteCount: arenaByteCount, capacity: poolCapacity)
    }

    func block(step: Int, index: Int) -> Block? {
        let position = firstBlock[step] + index
        guard position < firstBlock[step + 1] else { return nil }
        return blocks[position]
    }
}

/// Turns a recorded run into a ``MemoryPlan``: lifetimes per allocation, in-place reuse for
/// elementwise steps, then offsets by greedy best fit, largest blocks first.
enum MemoryPlanner {
    static let alignment = 64

    /// - Parameter inPlace: Per step, whether its operator may write its output over a same-sized
    ///   input (an elementwise kernel that reads element i before writing element i).
    /// - Parameter sharesOnlyEqualSizes: Let two ranges share arena space only when they have the
    ///   same size. Sessions with several threads plan this way: each thread writes its share of
    ///   every output (a band of positions in each channel plane, of rows, of tiles), and same-sized
    ///   tensors (a network stage's activations) are cut the same way, so a range keeps being written
    ///   by the thread that wrote it before. A range reused by a tensor of another shape is written
    ///   in a different pattern, and half of its cache lines sit in the other core's cache. When the
    ///   host placed the two vCPUs on separate L3s (a cache-line round trip of ~300 ns instead of
    ///   ~60 ns, for seconds at a time), fetching them cost SqueezeNet 9.38 -> 8.25 ms and ResNet-18
    ///   27.4 -> 25.4 ms (sums of per-node medians at 2 threads, alternated in that placement);
    ///   level otherwise. Arenas grew by 2-16 MB, peak RSS staying below ONNX Runtime's.
    static func plan(_ recording: MemoryRecording, inPlace: [Bool], poolCapacity: Int,
                     sharesOnlyEqualSizes: Bool = false) -> MemoryPlan {
        let allocations = recording.allocations
        let stepCount = inPlace.count

        // Groups of allocations sharing one range: an allocation alone, or an in-place chain.
        struct Group {
            var byteCount: Int
            var firstStep: Int
            var lastStep: Int
            /// The allocation using the range last.
            var tenant: Int
            var offset = 0
        }
        var groups: [Group] = []
        var groupOf = [Int?](repeating: nil, count: allocations.count)
        var inPlaceCount = 0
        var isOutput = Set<Int>()
        for step in 0..<stepCount { isOutput.formUnion(recording.outputAllocations[step]) }
        for (index, allocation) in allocations.enumerated() where !allocation.escapes {
            let step = allocation.step
            if inPlace[step], isOutput.contains(index),
               let source = recording.inputAllocations[step].first(where: { input in
                   let candidate = allocations[input]
                   guard !candidate.escapes, candidate.lastStep == step, candidate.byteCount == allocation.byteCount,
                         let group = groupOf[input] else { return false }
                   // The input must still be the group's tenant, not already handed on at this step.
                   return groups[group].tenant == input
               }),
               let group = groupOf[source] {
                groupOf[index] = group
                groups[group].lastStep = allocation.lastStep
                groups[group].tenant = index
                inPlaceCount += 1
                continue
            }
            groupOf[index] = groups.count
            groups.append(Group(byteCount: roundedUp(allocation.byteCount), firstStep: step,
                                lastStep: allocation.lastStep, tenant: index))
        }

        // Inputs of a join (a Concat whose inputs lie end to end in its output) go inside the
        // output's range, so their producers write there and the Concat copies nothing. Such an
        // input's group becomes a child of the output's group, which is then reserved from the
        // earliest child's first step. Only inputs the join reads last, whose range is used by no
        // later step, qualify; any other input is copied by the Concat as usual.
        var parentOf = [Int?](repeating: nil, count: groups.count)
        var childOffset = [Int](repeating: 0, count: groups.count)
        var isParent = [Bool](repeating: false, count: groups.count)
        var joinedCount = 0
        for join in recording.joins {
            guard !allocations[join.output].escapes, let parent = groupOf[join.output], parentOf[parent] == nil
            else { continue }
            var offset = 0
            for (input, byteCount) in zip(join.inputs, join.inputByteCounts) {
                defer { offset += byteCount }
                guard let input, !allocations[input].escapes, let group = groupOf[input], group != parent,
                      parentOf[group] == nil, !isParent[group], groups[group].tenant == input,
                      groups[group].lastStep == join.step, offset % alignment == 0
                else { continue }
                parentOf[group] = parent
                childOffset[group] = offset
                isParent[parent] = true
                groups[parent].firstStep = min(groups[parent].firstStep, groups[group].firstStep)
                joinedCount += 1
            }
        }

        // Greedy best fit, largest first: each group takes the smallest gap, between groups whose
        // steps overlap its own, that holds it.
        let order = groups.indices.filter { parentOf[$0] == nil }.sorted {
            (groups[$0].byteCount, groups[$1].firstStep) > (groups[$1].byteCount, groups[$0].firstStep)
        }
        var placed: [Int] = []
        var arenaByteCount = 0
        for candidate in order {
            let group = groups[candidate]
            let neighbours = placed.filter {
                (sharesOnlyEqualSizes && groups[$0].byteCount != group.byteCount)
                    || (groups[$0].firstStep <= group.lastStep && group.firstStep <= groups[$0].lastStep)
            }.map { (start: groups[$0].offset, end: groups[$0].offset + groups[$0].byteCount) }
                .sorted { $0.start < $1.start }
            var best: (offset: Int, gap: Int)?
            var cursor = 0
            for neighbour in neighbours {
                let gap = neighbour.start - cursor
                if gap >= group.byteCount, best.map({ gap < $0.gap }) ?? true { best = (cursor, gap) }
                cursor = max(cursor, neighbour.end)
            }
            let offset = best?.offset ?? cursor
            groups[candidate].offset = offset
            arenaByteCount = max(arenaByteCount, offset + group.byteCount)
            placed.append(candidate)
        }

        for (child, parent) in parentOf.enumerated() {
            if let parent { groups[child].offset = groups[parent].offset + childOffset[child] }
        }

        var blocks: [MemoryPlan.Block?] = []
        var firstBlock: [Int] = []
        var index = 0
        for step in 0...stepCount {
            firstBlock.append(blocks.count)
            while index < allocations.count, allocations[index].step == step {
                let allocation = allocations[index]
                blocks.append(groupOf[index].map {
                    MemoryPlan.Block(offset: groups[$0].offset, byteCount: allocation.byteCount,
                                     releaseStep: allocation.lastStep)
                })
                index += 1
            }
        }
        // Children lie inside their parent's range and lifetime: the parent's placement covers them.
        let placements = groups.indices.filter { parentOf[$0] == nil }.map { groups[$0] }.map {
            MemoryPlan.Placement(offset: $0.offset, byteCount: $0.byteCount, firstStep: $0.firstStep,
                                 lastStep: $0.lastStep)
        }
        return MemoryPlan(blocks: blocks, firstBlock: firstBlock, arenaByteCount: arenaByteCount,
                          placements: placements, inPlaceCount: inPlaceCount, joinedCount: joinedCount,
                          poolCapacity: poolCapacity)
    }

    private static func roundedUp(_ byteCount: Int) -> Int {
        (max(byteCount, 1) + alignment - 1) / alignment * alignment
    }
}
