#!/usr/bin/env bash
# Kiln vs ONNX Runtime on the model zoo. Builds Kiln in release mode (swift build -c release), sets up
# the light Python venv (.venv/, onnxruntime + numpy + onnx, no torch) and runs
# Scripts/python/compare_with_ort.py, which prints one table and rewrites its section of
# Docs/PERFORMANCE.md (plus Docs/performance-chart.svg).
#
#   bash Scripts/zoo.sh                                   # once: export the models into Zoo/
#   bash Scripts/compare-with-ort.sh                      # all cases, threads 1 and 2
#   bash Scripts/compare-with-ort.sh --cases resnet50 --threads 2 --rounds 3
#   bash Scripts/compare-with-ort.sh --swift-build-flags '-Xswiftc -target-cpu -Xswiftc haswell'
#
# Run it on a quiet machine: other processes on the same cores distort both sides.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=$(bash "$repo_root/Scripts/python-env.sh")
exec "$python" "$repo_root/Scripts/python/compare_with_ort.py" "$@"
