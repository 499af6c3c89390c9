#!/usr/bin/env bash
# Feeds corrupted copies of every fixture to the CLI and fails if any run ends by a signal (a crash)
# or fails without exactly one line of error on stderr:
#   - N truncated / byte-mutated copies of each fixture's model.kiln to `kiln inspect` and `kiln run`;
#   - N mutated copies of each fixture's model.onnx to `kiln convert`.
# Usage: Scripts/check-corrupt-files.sh [KILN_BINARY] [N]   (defaults: .build/debug/kiln, 500)
set -uo pipefail
cd "$(dirname "$0")/.."

KILN="${1:-.build/debug/kiln}"
COUNT="${2:-500}"
PYTHON="$(bash Scripts/python-env.sh)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

runs=0; crashes=0; rejected=0; accepted=0; badmessages=0

# Runs one command on a mutant; records how it ended.
check() {
    local label="$1"; shift
    "$@" >/dev/null 2>"$WORK/stderr"
    local status=$?
    runs=$((runs + 1))
    if [ "$status" -ge 128 ]; then
        crashes=$((crashes + 1))
        echo "CRASH (status $status, signal $((status - 128))): $label: $*"
    elif [ "$status" -ne 0 ]; then
        rejected=$((rejected + 1))
        local lines
        lines=$(wc -l < "$WORK/stderr")
        if [ "$lines" -ne 1 ] || ! grep -q '^kiln: error: ' "$WORK/stderr"; then
            badmessages=$((badmessages + 1))
            echo "NOT ONE LINE ($lines lines): $label: $*"; head -3 "$WORK/stderr"
        fi
    else
        accepted=$((accepted + 1))
    fi
}

for fixture in Fixtures/*/; do
    name=$(basename "$fixture")
    [ -f "$fixture/model.kiln" ] || continue
    inputs=()
    for file in "$fixture"inputs/*.npy; do inputs+=(--input "$(basename "$file" .npy)=$file"); done

    "$PYTHON" Scripts/python/mutate_corpus.py "$fixture/model.kiln" "$COUNT" --out "$WORK/$name-kiln" --seed 1 >/dev/null
    for mutant in "$WORK/$name-kiln"/*.kiln; do
        check "$name inspect" "$KILN" inspect "$mutant"
        check "$name run" "$KILN" run "$mutant" "${inputs[@]}" --output-dir "$WORK/out" --threads 1
    done

    if [ -f "$fixture/model.onnx" ]; then
        "$PYTHON" Scripts/python/mutate_corpus.py "$fixture/model.onnx" "$COUNT" --out "$WORK/$name-onnx" --seed 2 >/dev/null
        for mutant in "$WORK/$name-onnx"/*.onnx; do
            check "$name convert" "$KILN" convert "$mutant" -o "$WORK/converted.kiln"
        done
    fi
done

echo "corrupt-file check: $runs runs, $crashes crashes, $rejected rejected with an error, $accepted accepted, $badmessages bad error messages"
[ "$crashes" -eq 0 ] && [ "$badmessages" -eq 0 ]
