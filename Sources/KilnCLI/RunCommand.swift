import ArgumentParser
import Foundation
import Kiln

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a .kiln model on .npy inputs and write its outputs as .npy files."
    )

    @Argument(help: "The .kiln model file.")
    var model: String

    @Option(name: .customLong("input"), help: "An input as NAME=FILE.npy; repeat for each input.")
    var inputs: [NamedPath] = []

    @Option(name: .customLong("output-dir"), help: "Folder for the outputs, written as <output name>.npy.")
    var outputDirectory: String

    @Option(help: "Threads for one run.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        try reportingErrors {
            let loaded = try Model(contentsOf: URL(filePath: model))
            let session = try InferenceSession(model: loaded, options: .init(threads: threads))
            let outputs = try session.run(loadInputs(inputs))
            let directory = URL(filePath: outputDirectory, directoryHint: .isDirectory)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for info in loaded.outputs {
                guard let tensor = outputs[info.name] else { continue }
                try tensor.writeNpy(to: directory.appending(path: RunCommand.fileName(forOutput: info.name)))
            }
        }
    }

    /// Output names may contain characters a file name cannot; those become `_`.
    static func fileName(forOutput name: String) -> String {
        let safe = String(name.map { $0 == "/" || $0 == "\0" ? "_" : $0 })
        return (safe.isEmpty || safe == "." || safe == ".." ? "_\(safe)" : safe) + ".npy"
    }
}
