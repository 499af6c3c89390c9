#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, builds Kiln in release mode and
# benchmarks every fixture model on its committed inputs, printing one table.
# Usage: Scripts/bench-fixtures.sh [THREADS] [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS="${1:-$(nproc)}"
ITERATIONS="${2:-100}"

bash Scripts/setup.sh
echo "== building kiln (release)" >&2
swift build -c release --product kiln >&2
KILN=.build/release/kiln

printf "%-22s %-28s %10s %10s %10s %10s %12s\n" model "inputs" "load ms" "median ms" "p90 ms" "p99 ms" "peak RSS MiB"
for fixture in Fixtures/*/; do
    name=$(basename "$fixture")
    [ -f "$fixture/model.kiln" ] || continue
    arguments=()
    shapes=""
    for file in "$fixture"inputs/*.npy; do
        input=$(basename "$file" .npy)
        arguments+=(--input "$input=$file")
    done
    shapes=$("$KILN" inspect "$fixture/model.kiln" --json | python3 -c 'import json,sys; print(",".join(i["name"] for i in json.load(sys.stdin)["inputs"]))' 2>/dev/null || echo "?")
    if report=$("$KILN" bench "$fixture/model.kiln" "${arguments[@]}" --threads "$THREADS" --warmup 10 --iterations "$ITERATIONS" --json 2>&1); then
        python3 - "$name" "$shapes" "$report" <<'PY'
import json, sys
name, inputs, report = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
peak = (report.get("memory_at_end") or {}).get("peak_rss_mib", float("nan"))
print(f"{name:<22} {inputs:<28} {report['load_ms']:>10.2f} {report['median_ms']:>10.3f} {report['p90_ms']:>10.3f} {report['p99_ms']:>10.3f} {peak:>12.1f}")
PY
    else
        printf "%-22s error: %s\n" "$name" "$report"
    fi
done
echo "(release build, $THREADS threads, $ITERATIONS iterations after 10 warm-up runs; inputs from Fixtures/<model>/inputs)"
