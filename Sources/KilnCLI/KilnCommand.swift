import ArgumentParser
import Kiln

@main
struct KilnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "Convert, inspect, run, benchmark and serve Kiln models.",
        version: KilnVersion.current,
        subcommands: [ConvertCommand.self, InspectCommand.self, RunCommand.self, BenchCommand.self, ServeCommand.self,
                      StoreCommand.self]
    )
}
