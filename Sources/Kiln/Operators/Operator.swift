/// What an operator learns about one input during type inference: its type when known, and its
/// value when it is a constant (an initializer or a folded value), as Reshape's shape input often is.
package struct InferenceInput: Sendable {
    /// Nil when the type is not known.
    package var type: TensorType?
    package var constant: Tensor?
    /// For an integer tensor of rank 0 or 1 that is not a constant but whose elements are known as
    /// dims, one `Dim` per element: e.g. `Shape` of a `[batch, seq, 384]` input is
    /// `[batch, seq, 384]`. Lets shape arithmetic (Shape -> Gather -> Concat -> Reshape) keep symbols.
    package var symbolicValue: [Dim]?
    /// False for an omitted optional input (empty name in the node).
    package var isPresent: Bool

    package init(type: TensorType?, constant: Tensor? = nil, symbolicValue: [Dim]? = nil, isPresent: Bool = true) {
        self.type = type
        self.constant = constant
        self.symbolicValue = symbolicValue
        self.isPresent = isPresent
    }

    package static let absent = InferenceInput(type: nil, constant: nil, isPresent: false)
}

/// An error raised by an operator; the graph and session layers add the node's name and op type.
package struct OperatorError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// One ONNX operator: its attributes, validation, type inference and evaluation, in one file each
/// (see Docs/OPERATORS.md for the list and limits).
///
/// An operator value is created once per node when a session is compiled, so attribute parsing and
/// validation happen once; `run` is then called for every inference and must be safe to call from
/// many threads at once (operators are immutable values).
package protocol Operator: Sendable {
    /// The ONNX op type this implements, e.g. `"Relu"`.
    static var opType: String { get }

    /// Parses and validates the node's attributes and input/output counts.
    /// - Parameters:
    ///   - node: The node (attributes, input and output names).
    ///   - opset: The default-domain opset of the graph; selects between semantics that changed.
    init(node: Node, opset: Int) throws

    /// Output types from input types. Dims that cannot be known statically get fresh symbols from
    /// `symbols`.
    func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType]

    /// Computes the outputs. `inputs[i]` is nil for an omitted optional input. Inputs have been
    /// checked against the declared types by the session; kernels still check what depends on values.
    func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor]

    /// Values of outputs knowable before any input arrives (e.g. `Shape` of a fully static shape),
    /// beyond the generic folding of nodes whose inputs are all constant. Default: none.
    func staticOutputs(_ inputs: [InferenceInput]) -> [Tensor]?

    /// Symbolic values (see ``InferenceInput/symbolicValue``) of integer outputs of rank 0 or 1, one
    /// entry per output (nil where unknown). Default: none.
    func symbolicValues(_ inputs: [InferenceInput]) -> [[Dim]?]

    /// Called once by ``InferenceSession`` after `init(node:opset:)`, with the value of every input
    /// that is a graph initializer (nil for the others), so an operator can note which inputs are
    /// constant and derive from them (e.g. repacked weights). Default: does nothing.
    mutating func prepare(constants: [Tensor?]) throws

    /// Whether the kernel is a flat or broadcast elementwise loop (element i read, then element i
    /// written) that stays correct, and no slower, when its output aliases a same-sized input; the
    /// memory plan then lets it run in place. A requirement rather than a type test because casting
    /// to a protocol scans every conformance record in the binary the first time (measured: ~3 ms of
    /// all-MiniLM-L6-v2's load in `kiln`, which links the HTTP stack). Default: false.
    static var mayRunInPlace: Bool { get }

    /// Whether this run's output is `inputs` laid end to end in input order, each whole (Concat along
    /// an axis with only 1s before it). The memory plan may then place each input inside the output,
    /// so its producer writes there and the kernel finds it already in place. Asked only while a
    /// run is recorded for planning. Default: false.
    func joinsContiguously(_ inputs: [Tensor?]) -> Bool
}

/// Mints fresh symbolic dims (`unk_0`, `unk_1`, ...) for sizes inference cannot know.
package struct SymbolGenerator: Sendable {
    private var next = 0
    package init() {}
    package mutating func fresh() -> Dim {
        defer { next += 1 }
        return .symbolic("unk_\(next)")
    }
}

extension Operator {
    package static var mayRunInPlace: Bool { false }
    package func joinsContiguously(_ inputs: [Tensor?]) -> Bool { false }
    package func staticOutputs(_ inputs: [InferenceInput]) -> [Tensor]? { nil }

    package func symbolicValues(_ inputs: [InferenceInput]) -> [[Dim]?] { [] }

    package mutating func prepare(constants: [Tensor?]) throws {}
}
