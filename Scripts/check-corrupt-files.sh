#!/usr/bin/env bash
# Feeds corrupted copies of the fixture models to the CLI and fails if any run ends by a signal (a
# crash) or fails without exactly one `kiln: error:` line on stderr:
#   - N truncated / byte-mutated copies of each fixture's model.kiln to `kiln inspect` and `kiln run`;
#   - M mutated copies of each fixture's model.onnx to `kiln convert`.
# Usage: Scripts/check-corrupt-files.sh [KILN_BINARY] [N] [M]   (defaults: .build/debug/kiln, 500, 200)
# Fixtures: KILN_CORRUPT_FIXTURES (default "mlp cnn encoder"). Runs two commands at a time.
set -uo pipefail
cd "$(dirname "$0")/.."

KILN="$(realpath "${1:-.build/debug/kiln}")"
COUNT="${2:-500}"
ONNX_COUNT="${3:-200}"
FIXTURES="${KILN_CORRUPT_FIXTURES:-mlp cnn encoder}"
PYTHON="$(bash Scripts/python-env.sh)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# One line per command: a label, then the command. Paths here contain no spaces.
JOBS="$WORK/jobs.txt"
: > "$JOBS"
for name in $FIXTURES; do
    fixture="Fixtures/$name"
    inputs=""
    for file in "$fixture"/inputs/*.npy; do inputs="$inputs --input $(basename "$file" .npy)=$file"; done
    "$PYTHON" Scripts/python/mutate_corpus.py "$fixture/model.kiln" "$COUNT" --out "$WORK/$name-kiln" --seed 1 >/dev/null
    for mutant in "$WORK/$name-kiln"/*.kiln; do
        echo "$name-inspect $KILN inspect $mutant" >> "$JOBS"
        echo "$name-run $KILN run $mutant $inputs --output-dir $WORK/out-$(basename "$mutant") --threads 1" >> "$JOBS"
    done
    "$PYTHON" Scripts/python/mutate_corpus.py "$fixture/model.onnx" "$ONNX_COUNT" --out "$WORK/$name-onnx" --seed 2 >/dev/null
    for mutant in "$WORK/$name-onnx"/*.onnx; do
        echo "$name-convert $KILN convert $mutant -o $mutant.kiln" >> "$JOBS"
    done
done

# Runs one job; prints "<status> <stderr lines> <stderr starts with kiln: error:> <label> <command>".
run_one() {
    local label="$1"; shift
    local stderr
    stderr=$("$@" 2>&1 >/dev/null)
    local status=$?
    local lines=0 tagged=no
    if [ -n "$stderr" ]; then lines=$(printf '%s\n' "$stderr" | wc -l); fi
    case "$stderr" in "kiln: error: "*) tagged=yes ;; esac
    echo "$status $lines $tagged $label $*"
}
export -f run_one

xargs -P 2 -L 1 bash -c 'run_one "$@"' _ < "$JOBS" > "$WORK/results.txt"

awk '
    { runs++ }
    $1 >= 128 { crashes++; print "CRASH (signal " $1 - 128 "): " $0; next }
    $1 != 0 && ($2 != 1 || $3 != "yes") { bad++; print "NOT ONE ERROR LINE: " $0; next }
    $1 != 0 { rejected++; next }
    { accepted++ }
    END {
        printf "corrupt-file check: %d runs, %d crashes, %d rejected with a one-line error, %d accepted, %d bad error messages\n",
            runs, crashes, rejected, accepted, bad
        exit (crashes > 0 || bad > 0) ? 1 : 0
    }' "$WORK/results.txt"
