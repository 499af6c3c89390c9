#!/usr/bin/env bash
# Fuzzes the .kiln reader (or the .npy reader) with libFuzzer + AddressSanitizer.
#
#   Scripts/fuzz-reader.sh [RUNS|SECONDSs] [kiln|npy]     e.g. `1000000` runs or `600s`
#   Scripts/fuzz-reader.sh --make-corpus                  rewrite Fuzz/corpus from code
#   Scripts/fuzz-reader.sh --benchmark                    checksum GB/s and load time, -O build
#
# SwiftPM cannot link a libFuzzer executable (see shared FACTS.md), so the Kiln sources and the fuzz
# entry are compiled together, directly with swiftc, as one module. Findings go to .build/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."

out=.build/fuzz
mkdir -p "$out"
sources=$(find Sources/Kiln -name '*.swift' | sort)
blas_include=$(pkg-config --cflags-only-I openblas 2>/dev/null | sed 's/^-I//' || true)
blas_include=${blas_include:-/usr/include/x86_64-linux-gnu/openblas-pthread}
common=(-parse-as-library -package-name Kiln -I Sources/CBLAS -Xcc -I"$blas_include" -lopenblas)

if [[ "${1:-}" == "--make-corpus" ]]; then
    swiftc -O "${common[@]}" -module-name KilnCorpus $sources Fuzz/MakeCorpus.swift -o "$out/make-corpus"
    rm -f Fuzz/corpus/*.kiln
    "$out/make-corpus" Fuzz/corpus
    ls -l Fuzz/corpus
    exit 0
fi

if [[ "${1:-}" == "--benchmark" ]]; then
    swiftc -O -wmo "${common[@]}" -module-name KilnBenchmark $sources Fuzz/FormatBenchmark.swift -o "$out/format-benchmark"
    "$out/format-benchmark"
    exit 0
fi

limit=${1:-1000000}
target=${2:-kiln}
case "$target" in
    kiln) entry=Fuzz/ReaderFuzzer.swift; corpus=Fuzz/corpus ;;
    npy) entry=Fuzz/NpyFuzzer.swift; corpus=Fuzz/npy-corpus ;;
    *) echo "unknown target $target (kiln or npy)" >&2; exit 2 ;;
esac

binary="$out/$target-fuzzer"
echo "building $binary"
swiftc -O -sanitize=fuzzer,address "${common[@]}" -module-name KilnFuzz $sources "$entry" -o "$binary"

# Work on a copy so that inputs the fuzzer finds do not pile up in the committed seed corpus.
work="$out/$target-corpus"
mkdir -p "$work" "$out/$target-findings"
cp -n "$corpus"/* "$work"/ 2>/dev/null || true

if [[ "$limit" == *s ]]; then budget=(-max_total_time="${limit%s}"); else budget=(-runs="$limit"); fi
# malloc_limit_mb: inputs are at most 64 KB, so any single allocation above 64 MB is a finding
# (memory out of proportion to the input). timeout: any input taking over 5 s is a hang.
"$binary" "$work" "${budget[@]}" -max_len=65536 -malloc_limit_mb=64 -rss_limit_mb=2048 -timeout=5 \
    -artifact_prefix="$out/$target-findings/" -print_final_stats=1
