import CBLAS
import Foundation

/// Runs a ``Model``: compiled once (operators instantiated, execution order and value lifetimes
/// fixed), then ``run(_:)`` any number of times, from any number of threads at once.
public final class InferenceSession: Sendable {
    /// How a session executes.
    public struct Options: Sendable, Equatable {
        /// Threads one run may use inside an operator (and for OpenBLAS). Defaults to the core count.
        public var threads: Int

        public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
            self.threads = max(1, threads)
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
    }

    public let model: Model
    public let options: Options
    private let steps: [Step]
    private let slotCount: Int
    private let inputSlots: [(info: ValueInfo, slot: Int)]
    private let constantSlots: [(slot: Int, tensor: Tensor)]
    private let outputSlots: [(name: String, slot: Int)]
    private let context: ExecutionContext

    /// Compiles `model` for execution.
    /// - Throws: ``GraphError`` when a node cannot be instantiated.
    public init(model: Model, options: Options = Options()) throws {
        self.model = model
        self.options = options
        self.context = ExecutionContext(threads: options.threads)
        InferenceSession.configureBLAS(threads: options.threads)

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
        let order = try graph.topologicalOrder()
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
        var releases = [[Int]](repeating: [], count: pending.count)
        for (slot, position) in lastUse.enumerated() where position >= 0 && position < pending.count {
            releases[position].append(slot)
        }
        steps = pending.enumerated().map { position, step in
            Step(node: step.node, op: step.op, inputSlots: step.inputs, outputSlots: step.outputs,
                 releases: releases[position])
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
        let profiling = InferenceSession.profiling
        var values = [Tensor?](repeating: nil, count: slotCount)
        for (slot, tensor) in constantSlots { values[slot] = tensor }
        for (info, slot) in inputSlots { values[slot] = inputs[info.name] }
        for step in steps {
            let arguments = step.inputSlots.map { $0.flatMap { values[$0] } }
            let results: [Tensor]
            let started = profiling ? DispatchTime.now().uptimeNanoseconds : 0
            let startedCPU = profiling ? InferenceSession.threadCPUNanoseconds() : 0
            do {
                results = try step.op.run(arguments, context: context)
            } catch {
                throw SessionError.kernelFailed(node: step.node.name, opType: step.node.opType, reason: "\(error)")
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
        var outputs: [String: Tensor] = [:]
        for (name, slot) in outputSlots { outputs[name] = values[slot] }
        return outputs
    }

    /// Checks names, dtypes, ranks, fixed dims and symbolic-dim consistency of `inputs`.
    private func validate(_ inputs: [String: Tensor]) throws(SessionError) {
        _ = try InferenceSession.validate(inputs, against: model.inputs)
    }

    /// OpenBLAS keeps one process-wide thread count; the last session created sets it.
    /// Set `KILN_PROFILE=1` to have every run print one line per node to stderr:
    /// `kiln-profile <opType> <wall ns> <calling thread's CPU ns> <node> <first output shape>` (for
    /// finding where time goes; the CPU time is the robust figure on a busy machine at 1 thread).
    private static let profiling = ProcessInfo.processInfo.environment["KILN_PROFILE"] == "1"

    private static func threadCPUNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    private static func configureBLAS(threads: Int) {
        openblas_set_num_threads(Int32(threads))
    }
}
