import CBLAS
import Foundation
import Synchronization

/// The OpenBLAS that Kiln's matrix products run on, for reports and diagnostics.
///
/// OpenBLAS picks its kernels once, when the process loads it: from the CPU, or from the
/// `OPENBLAS_CORETYPE` environment variable when it is set. The same binary can therefore run
/// AVX-512 kernels on one machine and AVX2 kernels on another; benchmark reports name the core so
/// figures from different machines are not compared blindly (see Docs/DEPLOY.md).
public enum BLASLibrary {
    /// The kernel set OpenBLAS chose, as it names it: "Cooperlake", "SkylakeX", "Haswell", ...
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// OpenBLAS's own thread count, which Kiln keeps at 1: sessions split the products across their
    /// own threads instead (see Docs/ARCHITECTURE.md, "Threads").
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Keeps OpenBLAS single-threaded, with its worker threads stopped; cheap once both hold.
    /// Sessions call it when created and at every run, model loading before the checksum threads.
    ///
    /// One thread: OpenBLAS's thread count is one number for the whole process, so a session that
    /// set its own count set it for every other session (a 1-thread session created before a
    /// 2-thread one ran its products on two cores, and OpenBLAS's threaded path allocated on every
    /// call). Kiln's kernels split products across the session's pool instead.
    ///
    /// Workers stopped: OpenBLAS starts them when the process loads it, and each polls for work
    /// with `sched_yield` for about 2^28 cycles (70 ms here) before it sleeps, whether or not
    /// anything asks it for work. At one thread nothing does, but in a short process (`kiln
    /// bench`, a CLI run) that polling thread took turns on a core with Kiln's own threads: the MLP
    /// at batch 1 ran at its 1-thread time (0.028-0.034 ms instead of 0.018-0.020) in 3 of 8
    /// processes, with 4-7x the context switches. They are stopped through OpenBLAS's own
    /// `blas_thread_shutdown_` (what it runs around `fork`), looked up at run time because
    /// single-threaded OpenBLAS builds do not have it. `openblas_set_num_threads` starts them again,
    /// so they are stopped after every change of the count, not only once.
    ///
    /// One caller at a time past the cheap check: two models loaded at once could otherwise
    /// interleave one's `openblas_set_num_threads(1)` with the other's shutdown and leave the
    /// workers running (a clean-clone CI run saw it once, in the test that checks this).
    package static func keepSingleThreaded() {
        if openblas_get_num_threads() == 1 && workersStopped.load(ordering: .acquiring) { return }
        adjusting.withLock { _ in
            let lowered = openblas_get_num_threads() != 1
            if lowered { openblas_set_num_threads(1) }
            guard lowered || !workersStopped.load(ordering: .acquiring) else { return }
            _ = shutdownWorkers?()
            workersStopped.store(true, ordering: .releasing)
        }
    }

    private static let workersStopped = Atomic<Bool>(false)
    private static let adjusting = Mutex<Void>(())

    private static let shutdownWorkers: (@convention(c) () -> Int32)? = {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "blas_thread_shutdown_") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) () -> Int32).self)
    }()

    /// OpenBLAS's description of its build: version and options.
    public static var configuration: String {
        guard let text = openblas_get_config() else { return "unknown" }
        return String(cString: text)
    }
}
