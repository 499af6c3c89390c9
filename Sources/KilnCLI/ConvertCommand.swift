import ArgumentParser
import Foundation
import Kiln
import KilnONNX

/// `kiln convert MODEL.onnx -o MODEL.kiln`: imports an ONNX model, checks it, and writes it as `.kiln`.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert an ONNX model to a .kiln file.",
        discussion: """
            Weights stored as ONNX external data are read from files next to the model. The model is \
            validated and its types inferred before anything is written, so an unsupported operator \
            or a malformed file is reported without leaving a partial output.
            """
    )

    @Argument(help: "The ONNX model to convert.", completion: .file(extensions: ["onnx"]))
    var model: String

    @Option(name: .shortAndLong, help: "Where to write the .kiln file.")
    var output: String

    @Option(help: "The model's name (default: the ONNX graph's name).")
    var name: String?

    @Option(help: "The model's description (default: the ONNX model's doc string).")
    var description: String?

    @Flag(help: "Keep the graph as imported (skip the graph passes: folding, fusions, dead-node removal).")
    var noOptimize = false

    @Option(name: .customLong("skip-pass"),
            help: "Leave out one graph pass by name (e.g. channels_last; `kiln inspect` lists the passes that fired); repeatable.")
    var skippedPasses: [String] = []

    @Option(name: .customLong("verify"),
            help: "After writing, load the .kiln and run it on this input (NAME=FILE.npy); repeat per input.")
    var verifyInputs: [NamedPath] = []

    @Option(name: .customLong("expected"),
            help: "A reference output (NAME=FILE.npy, e.g. from ONNX Runtime) to compare with; repeat per output.")
    var expectedOutputs: [NamedPath] = []

    func validate() throws {
        let known = PassPipeline.default.names
        if let unknown = skippedPasses.first(where: { !known.contains($0) }) {
            throw ValidationError("--skip-pass: no graph pass is named \(unknown); the passes are \(Set(known).sorted().joined(separator: ", "))")
        }
    }

    func run() throws {
        try reportingErrors(convert)
    }

    private func convert() throws {
        let source = URL(fileURLWithPath: model)
        let destination = URL(fileURLWithPath: output)
        var (graph, metadata) = try ONNXImporter.importModel(contentsOf: source)
        if let name { metadata.name = name }
        if let description { metadata.description = description }
        // The metadata's producer is the tool that wrote the file; the ONNX origin is kept alongside.
        metadata.properties["onnx.file"] = source.lastPathComponent
        metadata.properties["onnx.producer"] =
            [metadata.producerName, metadata.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")
        metadata.producerName = "kiln-convert"
        metadata.producerVersion = KilnVersion.current
        graph.name = metadata.name.isEmpty ? graph.name : metadata.name
        if !noOptimize {
            let before = graph.nodes.count
            let fired = try PassPipeline.default.skipping(Set(skippedPasses)).run(&graph)
            metadata.properties["kiln.passes"] = PassPipeline.summary(fired)
            print("optimized: \(before) -> \(graph.nodes.count) nodes (\(PassPipeline.summary(fired)))")
        }
        let converted = try Model(graph: graph, metadata: metadata)

        print(Self.summary(of: converted, from: source))
        try converted.write(to: destination)
        print("wrote \(destination.path)")
        if !verifyInputs.isEmpty || !expectedOutputs.isEmpty {
            try verify(destination)
        }
    }

    /// What the user sees after a conversion: the interface of the model and its size.
    static func summary(of model: Model, from source: URL) -> String {
        var lines = ["imported \(source.path)"]
        if !model.metadata.name.isEmpty { lines.append("  name:    \(model.metadata.name)") }
        lines.append("  opset:   \(model.graph.opset)")
        for input in model.inputs { lines.append("  input:   \(input)") }
        for output in model.outputs { lines.append("  output:  \(output)") }
        let operators = model.graph.operatorCounts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
        lines.append("  nodes:   \(model.graph.nodes.count) (\(operators.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))")
        lines.append("  weights: \(model.graph.parameterCount) values, \(model.graph.parameterBytes) bytes")
        return lines.joined(separator: "\n")
    }

    /// Runs the written file (so the check covers the writer and reader too) and prints, per output,
    /// the largest absolute and relative difference from the reference outputs.
    private func verify(_ url: URL) throws {
        let session = try InferenceSession(model: Model(contentsOf: url))
        let outputs = try session.run(synthesizeMissingInputs(loadInputs(verifyInputs), model: session.model, dims: []))
        let references = try loadInputs(expectedOutputs)
        for info in session.outputs {
            guard let actual = outputs[info.name] else { continue }
            guard let expected = references[info.name] else {
                print("verify: \(info.name): \(actual.dtype)\(actual.shape) (no reference given)")
                continue
            }
            guard actual.shape == expected.shape else {
                throw CommandError.usage("verify: output '\(info.name)' has shape \(actual.shape), the reference \(expected.shape)")
            }
            let a = actual.floats(), e = expected.floats()
            var maxAbsolute: Float = 0, maxRelative: Float = 0
            for index in a.indices {
                let difference = abs(a[index] - e[index])
                maxAbsolute = max(maxAbsolute, difference)
                if e[index] != 0 { maxRelative = max(maxRelative, difference / abs(e[index])) }
            }
            print("verify: \(info.name): max abs error \(maxAbsolute), max rel error \(maxRelative)")
        }
        for name in references.keys.sorted() where outputs[name] == nil {
            throw CommandError.usage("verify: the model has no output '\(name)'")
        }
    }
}
