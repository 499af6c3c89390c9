// Opens a model store, serves predictions from it, publishes a new version and watches traffic move,
// then rolls the `stable` label back. Run: swift run ServingExample [store-directory]
import Foundation
import Kiln
import KilnServing
import Logging
import ServiceLifecycle

/// A tiny model made in code, `y = Relu(x) * scale`, so each version's answers are recognisable.
/// A real deployment publishes files made by `kiln convert model.onnx`.
func makeModel(scale: Float) throws -> Model {
    var builder = GraphBuilder(name: "scaled-relu")
    let x = builder.input("x", .float32, ["batch", 4])
    let factor = builder.constant(try Tensor(shape: [1], scalars: [scale]), name: "scale")
    builder.output(builder.node("Mul", [builder.node("Relu", [x]), factor]), as: "y")
    return try Model(graph: builder.build())
}

let root = CommandLine.arguments.count > 1
    ? URL(filePath: CommandLine.arguments[1])
    : FileManager.default.temporaryDirectory.appending(path: "kiln-serving-example-\(getpid())")
var logger = Logger(label: "serving-example")
logger.logLevel = .info

let store = try ModelStore(root: root)
let next = (try store.versions(model: "scaled").last ?? 0) + 1
try store.publish(model: "scaled", version: next) { try makeModel(scale: Float(next)).write(to: $0) }
try store.setLabel("stable", model: "scaled", version: next)

let server = ModelServer(store: store, configuration: .init(pollInterval: .milliseconds(200)), logger: logger)
let services = ServiceGroup(configuration: .init(services: [server], logger: logger))

try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await services.run() }

    let x = try Tensor(shape: [2, 4], scalars: [1, -2, 3, -4, 0.5, 6, -7, 8] as [Float])
    let first = try await server.predict(model: "scaled", version: .label("stable"), inputs: ["x": x],
                                         deadline: .now + .seconds(2))
    print("version \(first.version): y = \(try first.outputs["y"]!.scalars(as: Float.self))")

    // Publish a new version and move the label; the server loads and warms it up, then swaps.
    let newVersion = next + 1
    try store.publish(model: "scaled", version: newVersion) { try makeModel(scale: Float(newVersion)).write(to: $0) }
    try store.setLabel("stable", model: "scaled", version: newVersion)
    await server.reload()
    let second = try await server.predict(model: "scaled", version: .label("stable"), inputs: ["x": x])
    print("version \(second.version): y = \(try second.outputs["y"]!.scalars(as: Float.self))")

    // Roll the label back: traffic returns to the version it held before.
    try store.rollback(label: "stable", model: "scaled")
    await server.reload()
    let third = try await server.predict(model: "scaled", version: .label("stable"), inputs: ["x": x])
    print("after rollback, version \(third.version): y = \(try third.outputs["y"]!.scalars(as: Float.self))")

    if let status = await server.status(model: "scaled") {
        for version in status.versions {
            print("  v\(version.version): \(version.state), \(version.succeeded) answered")
        }
        print("  labels: \(status.labels.map { "\($0.label) -> \($0.target)" }.joined(separator: ", "))")
    }
    await services.triggerGracefulShutdown()
    try await group.waitForAll()
}
print("store: \(store.root.path(percentEncoded: false))")
