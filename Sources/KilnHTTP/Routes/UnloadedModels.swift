import Synchronization

/// Names of models taken out of service by `POST /v2/repository/models/{name}/unload`.
final class UnloadedModels: Sendable {
    private let models = Mutex<Set<String>>([])

    var names: Set<String> { models.withLock { $0 } }
    func contains(_ name: String) -> Bool { models.withLock { $0.contains(name) } }
    func insert(_ name: String) { _ = models.withLock { $0.insert(name) } }
    func remove(_ name: String) { _ = models.withLock { $0.remove(name) } }
}
