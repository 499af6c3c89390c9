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

    // Planned: `--verify INPUT.npy...` runs the converted model on the given inputs and compares the
    // outputs against expectations; it belongs after the write, in `run()`.

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
        let converted = try Model(graph: graph, metadata: metadata)

        print(Self.summary(of: converted, from: source))
        try converted.write(to: destination)
        print("wrote \(destination.path)")
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
}

