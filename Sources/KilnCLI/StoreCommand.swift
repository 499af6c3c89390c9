import ArgumentParser
import Foundation
import Kiln
import KilnServing

/// `kiln store ...`: manage a model repository (the directory `kiln serve` and `ModelServer` watch)
/// from the shell, with the same atomic operations as the `ModelStore` API.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Manage a versioned model repository: publish, list, label, roll back, remove.",
        subcommands: [Publish.self, List.self, Label.self, Rollback.self, Remove.self, Retain.self]
    )

    /// The repository option every subcommand takes.
    struct RepositoryOption: ParsableArguments {
        @Option(name: .long, help: "The repository root (ROOT/<model>/<version>/model.kiln).")
        var repository: String

        func open(createIfMissing: Bool = false) throws -> ModelStore {
            try ModelStore(root: URL(filePath: repository), createIfMissing: createIfMissing)
        }
    }

    struct Publish: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish a .kiln file as a new version (copied, synced, renamed into place).")

        @OptionGroup var repository: RepositoryOption
        @Argument(help: "The .kiln file to publish.") var file: String
        @Option(name: .long, help: "The model's name.") var model: String
        @Option(name: .long, help: "The version number (default: one past the newest).") var version: Int?
        @Option(name: .long, help: "Point this label at the new version once it is published.") var label: String?

        func run() throws {
            try reportingErrors {
                // A file that would fail to load is refused here rather than as a failed version later.
                _ = try Model(contentsOf: URL(filePath: file))
                let store = try repository.open(createIfMissing: true)
                let existing = try store.models().contains(model) ? try store.versions(model: model) : []
                let number = version ?? ((existing.max() ?? 0) + 1)
                try store.publish(URL(filePath: file), model: model, version: number)
                if let label { try store.setLabel(label, model: model, version: number) }
                print("published \(model) version \(number)" + (label.map { " as '\($0)'" } ?? ""))
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List models, their versions and labels.")

        @OptionGroup var repository: RepositoryOption

        func run() throws {
            try reportingErrors {
                let store = try repository.open()
                for model in try store.models() {
                    let versions = try store.versions(model: model).map(String.init).joined(separator: ", ")
                    let labels = try store.labels(model: model).sorted { $0.key < $1.key }
                        .map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
                    print("\(model): versions [\(versions)]" + (labels.isEmpty ? "" : " labels [\(labels)]"))
                }
            }
        }
    }

    struct Label: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Point a label at a version (remembered for rollback).")

        @OptionGroup var repository: RepositoryOption
        @Argument(help: "The label, e.g. stable or canary.") var label: String
        @Option(name: .long, help: "The model's name.") var model: String
        @Option(name: .long, help: "The version the label points at.") var version: Int

        func run() throws {
            try reportingErrors {
                try repository.open().setLabel(label, model: model, version: version)
                print("\(model): '\(label)' -> version \(version)")
            }
        }
    }

    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a label back to the version it held before.")

        @OptionGroup var repository: RepositoryOption
        @Argument(help: "The label to move back.") var label: String
        @Option(name: .long, help: "The model's name.") var model: String

        func run() throws {
            try reportingErrors {
                let version = try repository.open().rollback(label: label, model: model)
                print("\(model): '\(label)' -> version \(version)")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a version (servers drain its requests, then unload it).")

        @OptionGroup var repository: RepositoryOption
        @Option(name: .long, help: "The model's name.") var model: String
        @Option(name: .long, help: "The version to remove.") var version: Int

        func run() throws {
            try reportingErrors {
                try repository.open().remove(model: model, version: version)
                print("removed \(model) version \(version)")
            }
        }
    }

    struct Retain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Keep the newest N versions of a model and remove older unlabelled ones.")

        @OptionGroup var repository: RepositoryOption
        @Option(name: .long, help: "The model's name.") var model: String
        @Option(name: .long, help: "How many of the newest versions to keep.") var keep: Int

        func run() throws {
            try reportingErrors {
                let removed = try repository.open().retainNewest(keep, model: model)
                print("removed \(model) versions [\(removed.map(String.init).joined(separator: ", "))]")
            }
        }
    }
}
