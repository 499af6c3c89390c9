import KilnTargetFeatures

/// What the CPU this build was compiled for lets kernels assume (see
/// `Sources/KilnTargetFeatures/target_features.h`). A compile-time constant: the branch a build
/// does not take is dropped.
package enum BuildTarget {
    /// Whether the Swift code was compiled for AVX-512 (e.g. `-Xswiftc -target-cpu -Xswiftc native`
    /// on Zen 4 or 5, or Sapphire Rapids). `SIMD16<Float>` is then one zmm register; in a baseline
    /// build it is split into SSE2 pieces and loads and stores through it fall off a cliff, so
    /// kernels only use it when this is true.
    @inline(__always)
    package static var hasAVX512: Bool { KILN_TARGET_AVX512F != 0 }
}
