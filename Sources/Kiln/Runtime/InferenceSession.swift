import CBLAS
import Foundation

/// Runs a ``Model``: compiled once (operators instantiated, execution order and value lifetimes
/// fixed), then ``run(_:)`` any number of times, from any number of threads at once.
public final class InferenceSession: Sendable {
    /// How a session executes.
    public struct Options: Sendable, Equatable {
        /// Threads one run may use inside an operator (and for OpenBLAS). Defaults to the core count.
        public var threads: Int
        /// Plans intermediate memory once per input-shape signature and reuses one arena across runs
        /// (no heap allocation for intermediates in steady state). On by default; the environment
        /// variable `KILN_ARENA=0` turns it off for every session (for comparison).
        public var memoryPlanning: Bool

        public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount, memoryPlanning: Bool = true) {
            self.threads = max(1, threads)
            self.memoryPlanning = memoryPlanning
        }
    }

    /// One node, resolved to operator and value slots.
    private struct Step: Sendable {
        let node: Node
        let op: any Operator
        let inputSlots: [Int?]
        let outputSlots: [Int?]
        /// Slots whose last reader is this step; freed right after it.
        let releases: [Int]
        /// Per output: the last step reading it (this step when nothing does; `Int.max` for a graph
        /// output), which is how long its memory must stay intact.
        let lastReads: [Int]
        /// True when the operator's kernel reads element i of an input before writing element i of
        /// the output, so the memory plan may give the output the block of a same-sized input that
        /// dies here.
        let mayRunInPlace: Bool
    }

    public let model: Model
    public let options: Options
    private let steps: [Step]
    private let slotCount: Int
    private let inputSlots: [(info: ValueInfo, slot: Int)]
    private let constantSlots: [(slot: Int, tensor: Tensor)]
    private let outputSlots: [(name: String, slot: Int)]
    private let context: ExecutionContext
    /// Nil when memory planning is off.
    private let memoryPlans: MemoryPlanCache?

    /// Input-shape signatures whose memory plans a session keeps.
    package static let memoryPlanCapacity = 8
    /// Arenas kept per plan for concurrent runs; more concurrent runs allocate (and free) their own.
    package static let arenaPoolCapacity = 4
    private static let arenaDisabled = ProcessInfo.processInfo.environment["KILN_ARENA"] == "0"
    /// Multi-threaded plans share arena space only between same-sized tensors (see
    /// `MemoryPlanner.plan`); `KILN_ARENA_BY_SIZE=0` turns that off (for measuring).
    private static let arenaSharedBySize = ProcessInfo.processInfo.environment["KILN_ARENA_BY_SIZE"] != "0"

    /// Compiles `model` for execution.
    /// - Throws: ``GraphError`` when a node cannot be instantiated.
    public init(model: Model, options: Options = Options()) throws {
        self.model = model
        self.options = options
        self.context = ExecutionContext(threads: options.threads)
        memoryPlans = options.memoryPlanning && !InferenceSession.arenaDisabled
            ? MemoryPlanCache(capacity: InferenceSession.memoryPlanCapacity) : nil
        // OpenBLAS single-threaded with its workers stopped; checked again at every run, in case
        // the host program raised the count since.
        BLASLibrary.keepSingleThreaded()

        let graph = model.graph
        var slots: [String: Int] = [:]
        func slot(_ name: String) -> Int {
            if let existing = slots[name] { return existing }
            slots[name] = slots.count
            return slots.count - 1
        }
        inputSlots = graph.inputs.map { (info: $0, slot: slot($0.name)) }
        let inputNames = Set(graph.inputs.map(\.name))
        constantSlots = graph.initializers.filter { !inputNames.contains($0.key) }
            .sorted { $0.key < $1.key }.map { (slot: slot($0.key), tensor: $0.value) }
        let order = model.executionOrder
        var pending: [(node: Node, op: any Operator, inputs: [Int?], outputs: [Int?])] = []
        for index in order {
            let node = graph.nodes[index]
            var op = try OperatorRegistry.instantiate(node, opset: graph.opset)
            do {
                try op.prepare(constants: node.inputs.map { $0.isEmpty || inputNames.contains($0) ? nil : graph.initializers[$0] })
            } catch {
                throw GraphError.invalidNode(node: node.name, opType: node.opType, reason: "\(error)")
            }
            pending.append((node, op, node.inputs.map { $0.isEmpty ? nil : slot($0) },
                            node.outputs.map { $0.isEmpty ? nil : slot($0) }))
        }
        outputSlots = graph.outputs.map { (name: $0.name, slot: slot($0.name)) }
        slotCount = slots.count

        // A value dies after its last reader unless it is a graph output.
        var lastUse = [Int](repeating: -1, count: slots.count)
        for (position, step) in pending.enumerated() {
            for case let input? in step.inputs { lastUse[input] = position }
        }
        for (_, slot) in outputSlots { lastUse[slot] = Int.max }
        // A value nobody reads dies where it is made.
        for (position, step) in pending.enumerated() {
            for case let output? in step.outputs where lastUse[output] < 0 { lastUse[output] = position }
        }
        var releases = [[Int]](repeating: [], count: pending.count)
        for (slot, position) in lastUse.enumerated() where position >= 0 && position < pending.count {
            releases[position].append(slot)
        }
        steps = pending.enumerated().map { position, step in
            Step(node: step.node, op: step.op, inputSlots: step.inputs, outputSlots: step.outputs,
                 releases: releases[position],
                 lastReads: step.outputs.map { $0.map { lastUse[$0] } ?? position },
                 mayRunInPlace: InferenceSession.mayRunInPlace(step.op))
        }
    }

    /// The inputs a caller must provide.
    public var inputs: [ValueInfo] { model.inputs }
    /// The outputs a run returns.
    public var outputs: [ValueInfo] { model.outputs }

    /// Runs the model.
    /// - Parameter inputs: One tensor per model input, by name.
    /// - Returns: Every model output, by name.
    /// - Throws: ``SessionError``: input errors before any kernel runs, or the failing node.
    public func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        try validate(inputs)
        guard let memoryPlans else { return try execute(inputs, allocator: nil) }
        let plan = memoryPlans.plan { signature in
            signature.count == inputSlots.count
                && zip(signature, inputSlots).allSatisfy { shape, input in inputs[input.info.name]?.shape == shape }
        }
        guard let plan else {
            let signature = inputSlots.map { inputs[$0.info.name]?.shape ?? [] }
            let allocator = RunAllocator(recordingSteps: steps.count)
            let outputs = try execute(inputs, allocator: allocator)
            if let recording = allocator.recording {
                memoryPlans.insert(
                    MemoryPlanner.plan(recording, inPlace: steps.map(\.mayRunInPlace),
                                       poolCapacity: InferenceSession.arenaPoolCapacity,
                                       sharesOnlyEqualSizes: options.threads > 1 && InferenceSession.arenaSharedBySize),
                    for: signature)
                // The recording run's intermediates came from the heap; hand what they freed back to
                // the system before the arena takes its place, or peak memory counts both.
                InferenceSession.returnFreedHeapMemory()
            }
            return outputs
        }
        let allocator = plan.pool.take()
        allocator.beginReplay(of: plan)
        let result = Result(catching: { try execute(inputs, allocator: allocator) })
        // An arena still referenced (by a tensor some operator kept) is left to its last holder.
        if allocator.endReplay() { plan.pool.giveBack(allocator) }
        return try result.get()
    }

    private func execute(_ inputs: [String: Tensor], allocator: RunAllocator?) throws -> [String: Tensor] {
        BLASLibrary.keepSingleThreaded()
        // A run nested in an operator of a planned run must not allocate from the outer plan.
        guard let allocator else { return try RunAllocator.uninstalled { try executeSteps(inputs, allocator: nil) } }
        return try allocator.installed { try executeSteps(inputs, allocator: allocator) }
    }

    private func executeSteps(_ inputs: [String: Tensor], allocator: RunAllocator?) throws -> [String: Tensor] {
        let profiling = InferenceSession.profiling
        let recording = allocator?.recording
        var values = [Tensor?](repeating: nil, count: slotCount)
        for (slot, tensor) in constantSlots { values[slot] = tensor }
        for (info, slot) in inputSlots { values[slot] = inputs[info.name] }
        var arguments: [Tensor?] = []
        arguments.reserveCapacity(8)
        for (position, step) in steps.enumerated() {
            arguments.removeAll(keepingCapacity: true)
            allocator?.begin(step: position)
            // Values of earlier steps are dropped by now: the check that nothing else kept them.
            recording?.confirmReleased(throughStep: position - 1)
            for slot in step.inputSlots { arguments.append(slot.flatMap { values[$0] }) }
            recording?.noteInputs(step: position, arguments)
            var results: [Tensor]
            let started = profiling ? DispatchTime.now().uptimeNanoseconds : 0
            let startedCPU = profiling ? InferenceSession.threadCPUNanoseconds() : 0
            do {
                results = try step.op.run(arguments, context: context)
            } catch {
                throw SessionError.kernelFailed(node: step.node.name, opType: step.node.opType, reason: "\(error)")
            }
            if let recording {
                recording.noteOutputs(step: position, results, lastReads: step.lastReads)
                if results.count == 1, step.op.joinsContiguously(arguments) {
                    recording.noteJoin(step: position, inputs: arguments, output: results[0])
                }
            } else if allocator != nil {
                InferenceSession.keepOutliving(&results, lastReads: step.lastReads)
            }
            for (slot, result) in zip(step.outputSlots, results) {
                if let slot { values[slot] = result }
            }
            for slot in step.releases { values[slot] = nil }
            if profiling {
                let elapsed = DispatchTime.now().uptimeNanoseconds - started
                let elapsedCPU = InferenceSession.threadCPUNanoseconds() - startedCPU
                let shape = results.first.map { "\($0.shape)" } ?? "-"
                FileHandle.standardError.write(Data(
                    "kiln-profile \(step.node.opType) \(elapsed) \(elapsedCPU) \(step.node.name) \(shape)\n".utf8))
            }
        }
        arguments.removeAll()
        allocator?.endSteps()
        recording?.confirmReleased(throughStep: steps.count - 1)
        var outputs: [String: Tensor] = [:]
        for (name, slot) in outputSlots { outputs[name] = values[slot] }
        return outputs
    }

    /// A replayed plan is only as good as the run it was recorded from: an output whose arena block
    /// is planned to be reused before its last reader (a step that allocated differently this time)
    /// moves to the heap, so a plan can cost speed but never correctness.
    private static func keepOutliving(_ results: inout [Tensor], lastReads: [Int]) {
        for index in results.indices {
            guard let release = results[index].storage.plannedReleaseStep,
                  index < lastReads.count, lastReads[index] > release else { continue }
            let tensor = results[index]
            let copy = TensorStorage(uninitializedByteCount: tensor.storage.byteCount)
            copy.bytes.copyMemory(from: tensor.storage.bytes, byteCount: tensor.storage.byteCount)
            results[index] = Tensor(dtype: tensor.dtype, shape: tensor.shape, count: tensor.count, storage: copy)
        }
    }

    /// Operators whose kernel is a flat or broadcast elementwise loop (element i read, then element i
    /// written), which stays correct when the output aliases a same-sized input. Only the cheap,
    /// memory-bound ones: with input == output the compiler's runtime alias check sends a loop to its
    /// scalar version, which costs a transcendental function (Gelu, Exp, Erf...) 2-3x its time
    /// (measured: encoder fixture Gelu 38 us in place vs 14 us), while Add or Relu lose nothing.
    private static func mayRunInPlace(_ op: any Operator) -> Bool {
        type(of: op).mayRunInPlace
    }

    /// The signatures whose memory plans are cached, least recently used first (for tests).
    package var memoryPlanSignatures: [[[Int]]] { memoryPlans?.signatures ?? [] }

    /// The cached memory plan for inputs of these shapes (in ``inputs`` order), if any.
    package func memoryPlan(forInputShapes signature: [[Int]]) -> MemoryPlan? {
        memoryPlans?.plan(for: signature)
    }

    /// Arenas waiting for a run of this signature (for tests).
    package func idleArenaCount(forInputShapes signature: [[Int]]) -> Int {
        memoryPlans?.plan(for: signature)?.pool.idleCount ?? 0
    }

    /// Checks names, dtypes, ranks, fixed dims and symbolic-dim consistency of `inputs`.
    private func validate(_ inputs: [String: Tensor]) throws(SessionError) {
        _ = try InferenceSession.validate(inputs, against: model.inputs)
    }

    /// Set `KILN_PROFILE=1` to have every run print one line per node to stderr:
    /// `kiln-profile <opType> <wall ns> <calling thread's CPU ns> <node> <first output shape>` (for
    /// finding where time goes; the CPU time is the robust figure on a busy machine at 1 thread).
    private static let profiling = ProcessInfo.processInfo.environment["KILN_PROFILE"] == "1"

    private static func threadCPUNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    private static func returnFreedHeapMemory() {
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
    }
}

#if os(Linux)
/// glibc's `malloc_trim` (in `<malloc.h>`, which the Glibc module does not export).
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif
