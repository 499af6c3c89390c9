import Foundation
import Kiln
import Logging

/// Bringing the served versions in line with the store. Runs only on `reconcileQueue`, one pass at
/// a time; requests keep flowing on the current routes while it loads.
extension ModelServer {
    func reconcileAll() {
        guard lifecycle.withLock({ $0.accepting }) else { return }
        let listed: [String]
        do {
            listed = try store.models()
        } catch {
            logger.error("cannot list the models in the store", metadata: ["error": "\(error)"])
            return
        }
        let known = models.withLock { Array($0.keys) }
        for name in Set(listed).union(known).sorted() {
            guard lifecycle.withLock({ $0.accepting }) else { return }
            let snapshot: ModelStore.Snapshot
            do {
                snapshot = try store.snapshot(model: name)
            } catch {
                logger.error("cannot read the model from the store", metadata: ["model": "\(name)", "error": "\(error)"])
                continue
            }
            reconcile(snapshot)
        }
        // Forget models that left the store once nothing of them is loaded.
        let listedSet = Set(listed)
        models.withLock { models in
            for (name, served) in models where !listedSet.contains(name) {
                if served.state.withLock({ $0.entries.isEmpty }) { models[name] = nil }
            }
        }
    }

    private func servedModel(_ name: String, capacity: Int) -> ServedModel {
        models.withLock { models in
            if let existing = models[name] { return existing }
            let served = ServedModel(
                name: name, capacity: capacity,
                metrics: ModelMetrics(model: name, names: metricNames, factory: metricsFactory))
            models[name] = served
            return served
        }
    }

    private func reconcile(_ snapshot: ModelStore.Snapshot) {
        let name = snapshot.model
        let defaults = configuration.defaultModelConfiguration
        let served = servedModel(name, capacity: (snapshot.configuration ?? defaults).maxQueueSize)
        var modelLogger = logger
        modelLogger[metadataKey: "model"] = "\(name)"

        // A broken config.json stops new loads (its intent is unknown); what serves keeps serving.
        let loadConfiguration: ModelConfiguration?
        let policy: VersionPolicy
        if let error = snapshot.configurationError {
            let (isNew, lastGood) = served.state.withLock { state -> (Bool, ModelConfiguration?) in
                defer { state.configurationError = "\(error)" }
                return (state.configurationError != "\(error)", state.configuration)
            }
            if isNew { modelLogger.error("config.json is invalid; not loading new versions", metadata: ["error": "\(error)"]) }
            loadConfiguration = nil
            policy = (lastGood ?? defaults).versionPolicy
        } else {
            let current = snapshot.configuration ?? defaults
            served.state.withLock { state in
                state.configuration = current
                state.configurationError = nil
            }
            served.queue.capacity = current.maxQueueSize
            loadConfiguration = current
            policy = current.versionPolicy
        }

        // Load until every wanted version is ready or failed; a failure can make an older version
        // wanted (latest N counts only versions that have not failed), hence the loop.
        var selected: [Int] = []
        for _ in 0...snapshot.versions.count {
            let entries = served.state.withLock { $0.entries }
            let failed = Set(entries.compactMap { version, entry -> Int? in
                guard case .failed = entry.state else { return nil }
                let file = store.fileURL(model: name, version: version).path(percentEncoded: false)
                return entry.failedFile == DurableFiles.identity(file) ? version : nil
            })
            let candidates = snapshot.versions.filter { !failed.contains($0) }
            selected = policy.select(from: candidates)
            let wanted = Set(selected).union(Set(snapshot.labels.values).intersection(candidates))
            let missing = wanted.filter { entries[$0]?.state != .ready }.sorted(by: >)
            guard let loadConfiguration, !missing.isEmpty else { break }
            for version in missing {
                guard lifecycle.withLock({ $0.accepting }) else { return }
                load(version, of: served, configuration: loadConfiguration, logger: modelLogger)
            }
        }
        route(served, snapshot: snapshot, selected: selected, logger: modelLogger)
    }

    // MARK: Loading

    private struct LoadFailure: Error, CustomStringConvertible {
        let description: String
    }

    private func load(_ version: Int, of served: ServedModel, configuration modelConfiguration: ModelConfiguration,
                      logger: Logger) {
        let url = store.fileURL(model: served.name, version: version)
        let file = DurableFiles.identity(url.path(percentEncoded: false))
        let (counters, metrics) = served.state.withLock { state -> (VersionCounters, VersionMetrics) in
            let existing = state.entries[version]
            let entry = VersionEntry(state: .loading, loaded: nil,
                                     counters: existing?.counters ?? VersionCounters(),
                                     metrics: existing?.metrics ?? served.metrics.versionMetrics(version: version))
            state.entries[version] = entry
            return (entry.counters, entry.metrics)
        }
        metrics.recordState(.loading)
        logger.info("loading version", metadata: ["version": "\(version)", "path": "\(url.path(percentEncoded: false))"])
        let started = ContinuousClock.now
        do {
            let model: Model
            do {
                model = try configuration.loader.load(url)
            } catch {
                throw LoadFailure(description: "cannot load \(url.lastPathComponent): \(error)")
            }
            try ModelServer.checkDescriptions(of: model, against: modelConfiguration)
            let policy: BatchPolicy?
            do {
                policy = try BatchPolicy.make(for: model, configuration: modelConfiguration.batching)
            } catch {
                throw LoadFailure(description: error.description)
            }
            let cores = ProcessInfo.processInfo.activeProcessorCount
            let instances = modelConfiguration.instances ?? cores
            let threads = modelConfiguration.threadsPerInstance ?? max(1, cores / instances)
            let sessions = try (0..<instances).map { _ in
                do {
                    return try InferenceSession(model: model, options: .init(threads: threads))
                } catch {
                    throw LoadFailure(description: "cannot compile the model: \(error)")
                }
            }
            served.state.withLock { $0.entries[version]?.state = .warming }
            metrics.recordState(.warming)
            let samples = try ModelServer.warmupSamples(for: model, configuration: modelConfiguration, policy: policy)
            if samples.isEmpty {
                logger.warning("no warm-up: the model's inputs have unknown shapes and config.json gives no warmup",
                               metadata: ["version": "\(version)"])
            }
            var fastestRun: Duration?
            for sample in samples {
                let fastest = try ModelServer.warmUp(sessions, model: model, shapes: sample)
                if fastestRun == nil { fastestRun = fastest }  // the first sample is the batch-1 shape
            }
            let allowsDirectRuns = fastestRun.map { run in configuration.directRunLimit.map { run <= $0 } ?? false } ?? false
            let loaded = LoadedVersion(model: served.name, version: version, sessions: sessions, policy: policy,
                                       queue: served.queue, counters: counters, metrics: metrics, logger: logger,
                                       hooks: configuration.hooks, allowsDirectRuns: allowsDirectRuns)
            loaded.start()
            let duration = ContinuousClock.now - started
            served.state.withLock { state in
                state.entries[version]?.state = .ready
                state.entries[version]?.loaded = loaded
                state.entries[version]?.loadDuration = duration
                state.entries[version]?.failedFile = nil
            }
            metrics.recordState(.ready)
            served.metrics.loadsSucceeded.increment()
            served.metrics.loadDuration.recordNanoseconds(duration.nanoseconds)
            logger.info("version ready", metadata: [
                "version": "\(version)", "duration-ms": "\(duration.nanoseconds / 1_000_000)",
                "instances": "\(sessions.count)", "threads-per-instance": "\(threads)",
                "batching": "\(policy.map { "max \($0.maxBatchSize) on '\($0.symbol)'" } ?? "off")",
                "warmup-runs": "\(samples.count * sessions.count)",
                "warmup-run-us": "\(fastestRun.map { String($0.nanoseconds / 1000) } ?? "none")",
                "direct-runs": "\(loaded.allowsDirectRuns)"])
        } catch {
            let duration = ContinuousClock.now - started
            let reason = "\(error)"
            served.state.withLock { state in
                state.entries[version]?.state = .failed(reason: reason)
                state.entries[version]?.loaded = nil
                state.entries[version]?.loadDuration = duration
                state.entries[version]?.failedFile = file
            }
            metrics.recordState(.failed(reason: reason))
            served.metrics.loadsFailed.increment()
            logger.error("version failed to load; traffic stays on the versions serving",
                         metadata: ["version": "\(version)", "error": "\(reason)"])
        }
    }

    /// A version whose inputs or outputs differ from the ones `config.json` describes fails to load.
    private static func checkDescriptions(of model: Model, against configuration: ModelConfiguration) throws {
        func check(_ descriptions: [TensorDescription], _ values: [ValueInfo], kind: String) throws {
            for description in descriptions {
                guard let value = values.first(where: { $0.name == description.name }) else {
                    throw LoadFailure(description: "config.json describes \(kind) '\(description.name)', which the model lacks; it has \(values.map { "'\($0.name)'" }.joined(separator: ", "))")
                }
                guard value.type.dtype == description.dtype else {
                    throw LoadFailure(description: "\(kind) '\(description.name)' is \(value.type.dtype), config.json says \(description.dtype)")
                }
                if let described = description.shape, let actual = value.type.shape {
                    let agrees = described.count == actual.count && zip(described, actual).allSatisfy { describedDim, actualDim in
                        switch (describedDim, actualDim) {
                        case (.fixed(let a), .fixed(let b)): return a == b
                        case (.symbolic, .symbolic): return true
                        default: return false
                        }
                    }
                    guard agrees else {
                        throw LoadFailure(description: "\(kind) '\(description.name)' has shape \(value.type), config.json says \(described.map(\.description))")
                    }
                }
            }
        }
        try check(configuration.inputs, model.inputs, kind: "input")
        try check(configuration.outputs, model.outputs, kind: "output")
    }

    /// The input shapes to warm up with: `warmup` from config.json, or the declared inputs with
    /// symbolic dims at 1, plus the same at the maximum batch size when batching.
    static func warmupSamples(for model: Model, configuration: ModelConfiguration,
                              policy: BatchPolicy?) throws -> [[String: [Int]]] {
        if let explicit = configuration.warmup { return explicit }
        var base: [String: [Int]] = [:]
        for input in model.inputs {
            guard let shape = input.type.shape else { return [] }
            base[input.name] = shape.map { $0.value ?? 1 }
        }
        var samples = [base]
        if let policy, policy.maxBatchSize > 1 {
            samples.append(base.mapValues { [policy.maxBatchSize] + $0.dropFirst() })
        }
        return samples
    }

    /// Runs `shapes` (zeros) through every session twice; returns the fastest run.
    private static func warmUp(_ sessions: [InferenceSession], model: Model, shapes: [String: [Int]]) throws -> Duration {
        let described = shapes.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        do {
            var inputs: [String: Tensor] = [:]
            for (name, shape) in shapes {
                guard let info = model.inputs.first(where: { $0.name == name }) else {
                    throw LoadFailure(description: "the model has no input '\(name)'")
                }
                inputs[name] = try Tensor(zeros: info.type.dtype, shape: shape)
            }
            var fastest = Duration.seconds(Int64.max)
            for session in sessions {
                // The first run may pay one-time costs (page faults on mapped weights, plans); time the second.
                for _ in 0..<2 {
                    let started = ContinuousClock.now
                    let outputs = try session.run(inputs)
                    fastest = min(fastest, ContinuousClock.now - started)
                    for output in model.outputs where outputs[output.name] == nil {
                        throw LoadFailure(description: "the run did not produce output '\(output.name)'")
                    }
                }
            }
            return fastest
        } catch {
            throw LoadFailure(description: "warm-up run with \(described) failed: \(error)")
        }
    }

    // MARK: Routing

    /// Points traffic at the ready versions, then drains the versions no route uses any more.
    private func route(_ served: ServedModel, snapshot: ModelStore.Snapshot, selected: [Int], logger: Logger) {
        var toDrain: [LoadedVersion] = []
        var forgotten: [VersionMetrics] = []
        let (before, after) = served.state.withLock { state -> (Int?, Int?) in
            func ready(_ version: Int) -> LoadedVersion? {
                guard let entry = state.entries[version], entry.state == .ready else { return nil }
                return entry.loaded
            }
            func stillReady(_ loaded: LoadedVersion?) -> LoadedVersion? {
                guard let loaded, ready(loaded.version) === loaded else { return nil }
                return loaded
            }
            let previous = state.routing
            var routing = Routing(storeLabels: snapshot.labels)
            if let newest = selected.reversed().first(where: { ready($0) != nil }) {
                routing.latest = ready(newest)
            } else if !snapshot.versions.isEmpty, let kept = stillReady(previous.latest) {
                // Nothing the policy selects is ready (its versions failed): traffic stays where it was.
                routing.latest = kept
            }
            if routing.latest == nil {
                if snapshot.versions.isEmpty {
                    routing.latestUnavailableReason = "the store has no version of it"
                } else {
                    let states = selected.map { "version \($0) \(state.entries[$0]?.state.description ?? "not loaded")" }
                    routing.latestUnavailableReason = states.isEmpty
                        ? "no published version loaded (versions \(snapshot.versions.map(String.init).joined(separator: ", ")))"
                        : states.joined(separator: "; ")
                }
            }
            for (label, target) in snapshot.labels {
                if let loaded = ready(target) {
                    routing.labels[label] = loaded
                } else if let kept = stillReady(previous.labels[label]) {
                    routing.labels[label] = kept
                }
            }
            for version in selected {
                if let loaded = ready(version) { routing.versions[version] = loaded }
            }
            for loaded in routing.labels.values { routing.versions[loaded.version] = loaded }
            if let latest = routing.latest { routing.versions[latest.version] = latest }
            state.routing = routing

            for (version, entry) in state.entries where entry.state == .ready {
                guard let loaded = entry.loaded, routing.versions[version] !== loaded else { continue }
                state.entries[version]?.state = .draining
                entry.metrics.recordState(.draining)
                toDrain.append(loaded)
            }
            let present = Set(snapshot.versions)
            for (version, entry) in state.entries where !present.contains(version) {
                switch entry.state {
                case .unloaded, .failed:
                    state.entries[version] = nil
                    forgotten.append(entry.metrics)
                default: break
                }
            }
            return (previous.latest?.version, routing.latest?.version)
        }
        for metrics in forgotten { metrics.destroy() }
        if before != after {
            logger.info("latest moved", metadata: ["from": "\(before.map(String.init) ?? "none")",
                                                  "to": "\(after.map(String.init) ?? "none")"])
        }
        for loaded in toDrain {
            logger.info("draining version", metadata: ["version": "\(loaded.version)"])
            loaded.close()
            Task {
                await loaded.drained.wait()
                self.finishUnload(loaded, of: served)
            }
        }
    }

    /// Marks a drained version unloaded and lets its sessions go.
    func finishUnload(_ loaded: LoadedVersion, of served: ServedModel) {
        let unloaded = served.state.withLock { state -> Bool in
            // A version drained and then wanted again has a new LoadedVersion; leave that one alone.
            guard let entry = state.entries[loaded.version], entry.loaded === loaded else { return false }
            state.entries[loaded.version]?.state = .unloaded
            state.entries[loaded.version]?.loaded = nil
            return true
        }
        if unloaded {
            loaded.metrics.recordState(.unloaded)
            var unloadLogger = logger
            unloadLogger[metadataKey: "model"] = "\(served.name)"
            unloadLogger.info("version unloaded", metadata: [
                "version": "\(loaded.version)", "served": "\(loaded.counters.succeeded.load(ordering: .relaxed))"])
        }
    }
}
