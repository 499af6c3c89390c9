// The instruction sets this build of Kiln's Swift code may use, as the C preprocessor sees them.
//
// Swift has no `#if` for CPU features, but the Clang importer parses this header with the same
// target as the Swift compiler: a plain `swift build` targets baseline x86-64 (SSE2), while
// `-Xswiftc -target-cpu -Xswiftc native` on an AVX-512 machine defines __AVX512F__ here. Swift
// imports each macro as a constant, so `if KILN_TARGET_AVX512F != 0` costs nothing and the branch
// not taken is dropped. Kernels use it to pick a vector width that the build executes natively:
// SIMD16<Float> is one zmm register with AVX-512 but ~60x slower than a scalar loop at baseline.
#ifndef KILN_TARGET_FEATURES_H
#define KILN_TARGET_FEATURES_H

#if defined(__AVX512F__)
#define KILN_TARGET_AVX512F 1
#else
#define KILN_TARGET_AVX512F 0
#endif

#endif
