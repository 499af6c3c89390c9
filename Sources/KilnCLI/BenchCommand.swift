import ArgumentParser
import Foundation
import Kiln

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure load time and inference latency of a .kiln model.",
        discussion: """
            Inputs not given with --input are synthesized (deterministic pseudo-random floats, ones for \
            integer inputs); symbolic dims of synthesized inputs are bound with --dim NAME=SIZE.
            """
    )

    @Argument(help: "The .kiln model file.")
    var model: String

    @Option(name: .customLong("input"), help: "An input as NAME=FILE.npy; repeat for each input.")
    var inputs: [NamedPath] = []

    @Option(name: .customLong("dim"), help: "Bind a symbolic dim for synthesized inputs, as NAME=SIZE.")
    var dims: [DimBinding] = []

    @Option(help: "Threads for one run.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Untimed runs before measuring.")
    var warmup: Int = 5

    @Option(help: "Timed runs.")
    var iterations: Int = 50

    @Option(help: ArgumentHelp(
        "Times to load the model in this process, each a new Model and session from the file.",
        discussion: "load_ms is their median and first_load_ms the first (it also pays for the process's first mapping and thread start)."))
    var loads: Int = 3

    @Flag(help: "Print one JSON object: load_ms, median_ms, p90_ms, p99_ms, iterations, core_round_trip_ns, ...")
    var json = false

    struct Report: Encodable {
        let model: String
        let threads: Int
        let iterations: Int
        /// Median over `--loads` loads of file to ready session, and the first of them.
        let loadMilliseconds: Double
        let firstLoadMilliseconds: Double
        let firstRunMilliseconds: Double
        let medianMilliseconds: Double
        let p90Milliseconds: Double
        let p99Milliseconds: Double
        let minMilliseconds: Double
        /// Resident memory right after loading (before any run) and at the end.
        let memoryAfterLoad: ProcessMemory?
        let memoryAtEnd: ProcessMemory?
        /// Cache-line round trip between two threads, measured after the runs (see `CoreRoundTrip`).
        let coreRoundTripNanoseconds: Double?
        /// The kernel set OpenBLAS runs the products on (it depends on the CPU and `OPENBLAS_CORETYPE`).
        let blasCore: String

        enum CodingKeys: String, CodingKey {
            case model, threads, iterations
            case loadMilliseconds = "load_ms"
            case firstLoadMilliseconds = "first_load_ms"
            case firstRunMilliseconds = "first_run_ms"
            case medianMilliseconds = "median_ms"
            case p90Milliseconds = "p90_ms"
            case p99Milliseconds = "p99_ms"
            case minMilliseconds = "min_ms"
            case memoryAfterLoad = "memory_after_load"
            case memoryAtEnd = "memory_at_end"
            case coreRoundTripNanoseconds = "core_round_trip_ns"
            case blasCore = "blas_core"
        }
    }

    func validate() throws {
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
        guard warmup >= 0 else { throw ValidationError("--warmup must not be negative") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard loads >= 1 else { throw ValidationError("--loads must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            var loadSamples: [Double] = []
            var loaded: InferenceSession?
            for _ in 0..<loads {
                loaded = nil  // the previous model's mapping goes before the next load, as in a reload
                let (session, elapsed) = try measureMilliseconds {
                    try InferenceSession(model: Model(contentsOf: URL(filePath: model)), options: .init(threads: threads))
                }
                loaded = session
                loadSamples.append(elapsed)
            }
            guard let session = loaded else { return }
            let firstLoadMilliseconds = loadSamples[0]
            let loadMilliseconds = loadSamples.sorted()[loadSamples.count / 2]
            let memoryAfterLoad = ProcessMemory.current()
            let feeds = try synthesizeMissingInputs(loadInputs(inputs), model: session.model, dims: dims)
            let (_, firstRun) = try measureMilliseconds { try session.run(feeds) }
            for _ in 0..<warmup { _ = try session.run(feeds) }
            var samples: [Double] = []
            samples.reserveCapacity(iterations)
            for _ in 0..<iterations {
                let (_, elapsed) = try measureMilliseconds { try session.run(feeds) }
                samples.append(elapsed)
            }
            samples.sort()
            func percentile(_ fraction: Double) -> Double {
                samples[min(samples.count - 1, Int((Double(samples.count) * fraction).rounded(.up)) - 1)]
            }
            let report = Report(
                model: model, threads: threads, iterations: iterations, loadMilliseconds: loadMilliseconds,
                firstLoadMilliseconds: firstLoadMilliseconds,
                firstRunMilliseconds: firstRun, medianMilliseconds: percentile(0.5), p90Milliseconds: percentile(0.9),
                p99Milliseconds: percentile(0.99), minMilliseconds: samples[0], memoryAfterLoad: memoryAfterLoad,
                memoryAtEnd: ProcessMemory.current(), coreRoundTripNanoseconds: CoreRoundTrip.measure(),
                blasCore: BLASLibrary.coreName)
            if json {
                try printJSON(report)
            } else {
                print(String(format: "load %.3f ms (median of %d; first %.3f ms), first run %.3f ms, median %.3f ms, p90 %.3f ms, p99 %.3f ms (%d iterations, %d threads)",
                             report.loadMilliseconds, loads, report.firstLoadMilliseconds, report.firstRunMilliseconds,
                             report.medianMilliseconds, report.p90Milliseconds, report.p99Milliseconds, iterations, threads))
                print("OpenBLAS kernels: \(report.blasCore)")
                if let memory = report.memoryAfterLoad {
                    print(String(format: "after load: resident %.1f MiB (anonymous %.1f MiB, file-backed %.1f MiB)",
                                 memory.residentMiB, memory.anonymousMiB, memory.fileBackedMiB))
                }
                if let memory = report.memoryAtEnd {
                    print(String(format: "peak resident %.1f MiB", memory.peakResidentMiB))
                }
                if let roundTrip = report.coreRoundTripNanoseconds {
                    print(String(format: "cache-line round trip between two threads: %.0f ns", roundTrip))
                }
            }
        }
    }
}
