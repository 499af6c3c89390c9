/// One graph rewrite applied at convert time (see ``PassPipeline``).
///
/// A pass must leave the graph valid and its outputs unchanged (up to float rounding where it
/// reassociates arithmetic, e.g. folding BatchNormalization into convolution weights).
public protocol GraphPass: Sendable {
    /// Short snake_case name stored in the model's `kiln.passes` property.
    var name: String { get }
    /// Rewrites `graph` in place and returns how many rewrites fired (0 = graph unchanged).
    func run(_ graph: inout Graph) throws -> Int
}

/// An ordered list of graph passes.
public struct PassPipeline: Sendable {
    public var passes: [any GraphPass]
    /// How many times the whole list runs at most; one fusion often enables another (a folded
    /// constant makes a pattern match), so the list repeats until nothing fires.
    public var maximumRounds: Int
    /// Passes run once, in order, after the rounds: layout changes that must see the fully fused
    /// graph (``ChannelsLastPass``), fusions of what they produce (``FuseConcatConvolutionsPass``),
    /// and, last, weights stored in the layouts of the kernels that will read them (``PackWeightsPass``).
    public var finally: [any GraphPass]

    public init(_ passes: [any GraphPass], maximumRounds: Int = 4, finally: [any GraphPass] = []) {
        self.passes = passes
        self.maximumRounds = maximumRounds
        self.finally = finally
    }

    /// The passes `kiln convert` runs.
    public static let `default` = PassPipeline([
        RemoveIdentityPass(),
        ConstantFoldingPass(),
        DeadNodeEliminationPass(),
        SimplifyReshapeTransposePass(),
        FoldBatchNormPass(),
        FuseLayerNormPass(),
        FuseGeluPass(),
        FuseAttentionPass(),
        MatMulAddToGemmPass(),
        FuseResidualAddPass(),
        FuseActivationPass(),
        DeadNodeEliminationPass(),
    ], finally: [ChannelsLastPass(), FuseConcatConvolutionsPass(), PackWeightsPass()])

    /// The names of its passes, in order.
    public var names: [String] { (passes + finally).map(\.name) }

    /// The pipeline without the passes named in `names`.
    public func skipping(_ names: Set<String>) -> PassPipeline {
        PassPipeline(passes.filter { !names.contains($0.name) }, maximumRounds: maximumRounds,
                            finally: finally.filter { !names.contains($0.name) })
    }

    /// Runs the passes and returns how often each fired, in pipeline order (passes that never fired
    /// are left out). The graph's types are re-inferred at the end.
    @discardableResult
    public func run(_ graph: inout Graph) throws -> [(name: String, count: Int)] {
        var totals: [(name: String, count: Int)] = []
        for _ in 0..<maximumRounds {
            var firedThisRound = 0
            for pass in passes {
                let fired = try pass.run(&graph)
                guard fired > 0 else { continue }
                firedThisRound += fired
                if let index = totals.firstIndex(where: { $0.name == pass.name }) {
                    totals[index].count += fired
                } else {
                    totals.append((pass.name, fired))
                }
            }
            if firedThisRound == 0 { break }
        }
        for pass in finally {
            let fired = try pass.run(&graph)
            if fired > 0 { totals.append((pass.name, fired)) }
        }
        try graph.inferTypes()
        return totals
    }

    /// `"name=count, ..."`, the form stored in the `kiln.passes` metadata property.
    public static func summary(_ counts: [(name: String, count: Int)]) -> String {
        counts.isEmpty ? "none" : counts.map { "\($0.name)=\($0.count)" }.joined(separator: ", ")
    }
}
