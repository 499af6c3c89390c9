#!/usr/bin/env bash
# Integration test over the model zoo: converts every Zoo/<name>/model.onnx (made by Scripts/zoo.sh;
# the full-size models are not committed) and every Fixtures/zoo-*/model.onnx, runs each data set
# (inputs<suffix>/ -> expected<suffix>/) with `kiln run`, and compares every output with ONNX
# Runtime's (or sentence-transformers') at the manifest's rtol/atol. Exits non-zero on any mismatch.
# Usage: Scripts/check-zoo.sh [DIR...]   (default: Zoo/*/ Fixtures/zoo-*/)
# KILN_SWIFT_BUILD_FLAGS checks another build, e.g. '-Xswiftc -target-cpu -Xswiftc native' (built in
# .build-flags/ so the plain build in .build/ stays as it is).
set -uo pipefail
cd "$(dirname "$0")/.."

PYTHON="$(bash Scripts/python-env.sh)"
bash Scripts/setup.sh
read -r -a build_flags <<< "${KILN_SWIFT_BUILD_FLAGS:-}"
scratch=(); [ "${#build_flags[@]}" -gt 0 ] && scratch=(--scratch-path .build-flags)
swift build -c release --product kiln "${scratch[@]}" "${build_flags[@]}" >&2 || exit 1
KILN="$(swift build -c release "${scratch[@]}" "${build_flags[@]}" --show-bin-path)/kiln"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

if [ "$#" -gt 0 ]; then dirs=("$@"); else dirs=(Zoo/*/ Fixtures/zoo-*/); fi
passed=0; failed=0
for dir in "${dirs[@]}"; do
    dir=${dir%/}
    [ -f "$dir/model.onnx" ] || continue
    name=$(basename "$dir")
    read -r rtol atol < <("$PYTHON" -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m.get("rtol",1e-4), m.get("atol",1e-4))' "$dir/manifest.json" 2>/dev/null || echo "1e-4 1e-4")
    if ! "$KILN" convert "$dir/model.onnx" -o "$dir/model.kiln" >/dev/null; then
        echo "FAIL $name: convert"; failed=$((failed + 1)); continue
    fi
    for inputs in "$dir"/inputs*; do
        suffix=${inputs##*/inputs}
        [ -d "$dir/expected$suffix" ] || continue
        flags=()
        for file in "$inputs"/*.npy; do flags+=(--input "$(basename "$file" .npy)=$file"); done
        out="$OUT/$name$suffix"
        if ! "$KILN" run "$dir/model.kiln" "${flags[@]}" --output-dir "$out"; then
            echo "FAIL $name$suffix: run"; failed=$((failed + 1)); continue
        fi
        for expected in "$dir/expected$suffix"/*.npy; do
            if result=$("$PYTHON" Scripts/python/compare_npy.py "$out/$(basename "$expected")" "$expected" --rtol "$rtol" --atol "$atol" 2>&1); then
                passed=$((passed + 1))
                echo "ok   $name$suffix/$(basename "$expected" .npy): $(echo "$result" | head -1)"
            else
                failed=$((failed + 1))
                echo "FAIL $name$suffix/$(basename "$expected" .npy): $(echo "$result" | tr '\n' ' ')"
            fi
        done
    done
done
echo "zoo check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
