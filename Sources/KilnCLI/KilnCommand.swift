import ArgumentParser
import Kiln

@main
struct KilnCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "Convert, inspect, run and benchmark Kiln models.",
        version: KilnVersion.current,
        subcommands: [ConvertCommand.self, InspectCommand.self, RunCommand.self, BenchCommand.self, StoreCommand.self]
    )
}
