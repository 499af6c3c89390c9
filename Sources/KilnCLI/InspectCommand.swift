import ArgumentParser
import Foundation
import Kiln

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Describe a .kiln model: inputs, outputs, operators, parameters, metadata."
    )

    @Argument(help: "The .kiln model file.")
    var model: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    struct Description: Encodable {
        struct Value: Encodable {
            let name: String
            let dtype: String
            /// Fixed dims as numbers, symbolic ones as their names; nil when the rank is unknown.
            let shape: [String]?
        }
        let name: String
        let description: String
        let producer: String
        let inputs: [Value]
        let outputs: [Value]
        let operators: [String: Int]
        let nodes: Int
        let parameters: Int
        let parameterBytes: Int
        let opset: Int
        let properties: [String: String]

        enum CodingKeys: String, CodingKey {
            case name, description, producer, inputs, outputs, operators, nodes, parameters, opset, properties
            case parameterBytes = "parameter_bytes"
        }
    }

    func run() throws {
        try reportingErrors {
            let loaded = try Model(contentsOf: URL(filePath: model))
            let graph = loaded.graph
            func describe(_ info: ValueInfo) -> Description.Value {
                Description.Value(name: info.name, dtype: info.type.dtype.description,
                                  shape: info.type.shape?.map(\.description))
            }
            let description = Description(
                name: loaded.metadata.name, description: loaded.metadata.description,
                producer: "\(loaded.metadata.producerName) \(loaded.metadata.producerVersion)",
                inputs: graph.inputs.map(describe), outputs: graph.outputs.map(describe),
                operators: graph.operatorCounts, nodes: graph.nodes.count, parameters: graph.parameterCount,
                parameterBytes: graph.parameterBytes, opset: graph.opset, properties: loaded.metadata.properties)
            if json {
                try printJSON(description)
            } else {
                printText(description)
            }
        }
    }

    private func printText(_ model: Description) {
        print("model:       \(model.name.isEmpty ? "(unnamed)" : model.name)")
        if !model.description.isEmpty { print("description: \(model.description)") }
        print("producer:    \(model.producer)")
        print("opset:       \(model.opset)")
        print("inputs:")
        for value in model.inputs { print("  \(value.name): \(value.dtype)[\(value.shape?.joined(separator: ", ") ?? "?")]") }
        print("outputs:")
        for value in model.outputs { print("  \(value.name): \(value.dtype)[\(value.shape?.joined(separator: ", ") ?? "?")]") }
        print("parameters:  \(model.parameters) (\(formatBytes(model.parameterBytes)))")
        print("nodes:       \(model.nodes)")
        print("operators:")
        for (op, count) in model.operators.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }) {
            print("  \(op.padding(toLength: 24, withPad: " ", startingAt: 0)) \(count)")
        }
        if let passes = model.properties["kiln.passes"] { print("optimizations: \(passes)") }
        if !model.properties.isEmpty {
            print("properties:")
            for (key, value) in model.properties.sorted(by: { $0.key < $1.key }) { print("  \(key): \(value)") }
        }
    }
}

func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}
