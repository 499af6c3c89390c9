/// Descriptive information stored with a model.
public struct ModelMetadata: Sendable, Equatable {
    /// Short model name, e.g. `resnet18`.
    public var name: String
    public var description: String
    /// The tool that wrote the file, e.g. `kiln-convert`.
    public var producerName: String
    public var producerVersion: String
    /// Free-form key/value pairs (e.g. the ONNX source's doc string or license).
    public var properties: [String: String]

    public init(name: String = "", description: String = "", producerName: String = "kiln",
                producerVersion: String = KilnVersion.current, properties: [String: String] = [:]) {
        self.name = name
        self.description = description
        self.producerName = producerName
        self.producerVersion = producerVersion
        self.properties = properties
    }
}

/// The version of this Kiln library.
public enum KilnVersion {
    public static let current = "0.1.0"
}

/// A loaded model: a validated, type-checked graph plus its metadata.
///
/// Load one from a `.kiln` file with ``init(contentsOf:)`` (memory-mapped; weights are used in place)
/// or wrap a graph built in code with ``init(graph:metadata:)``. A model is immutable and can back
/// any number of ``InferenceSession``s.
public final class Model: Sendable {
    public let graph: Graph
    public let metadata: ModelMetadata

    /// Wraps a graph after validating it and inferring its types.
    /// - Throws: ``GraphError`` when the graph is malformed or uses unsupported operators.
    public init(graph: Graph, metadata: ModelMetadata = ModelMetadata()) throws {
        var graph = graph
        let order = try graph.inferTypesReturningOrder()
        self.graph = graph
        self.metadata = metadata
        executionOrder = order
    }

    /// A graph whose types ``Graph/inferTypesReturningOrder()`` has inferred, with that order.
    init(checkedGraph graph: Graph, metadata: ModelMetadata, executionOrder: [Int]) {
        self.graph = graph
        self.metadata = metadata
        self.executionOrder = executionOrder
    }

    /// ``Graph/topologicalOrder()`` of ``graph``, computed once here for every session (type
    /// inference changes no node, so it stays valid); with String-keyed lookups for every value it
    /// was about 3% of a model's load when each session computed it again.
    package let executionOrder: [Int]

    /// The inputs a caller must provide.
    public var inputs: [ValueInfo] { graph.inputs }
    /// The outputs a run returns.
    public var outputs: [ValueInfo] { graph.outputs }
}
