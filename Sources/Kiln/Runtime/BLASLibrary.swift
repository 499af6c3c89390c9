import CBLAS

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

    /// OpenBLAS's description of its build: version and options.
    public static var configuration: String {
        guard let text = openblas_get_config() else { return "unknown" }
        return String(cString: text)
    }
}
