#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs what is missing, generates the ONNX
# conformance data (Python, in .venv), builds, feeds corrupted files to the CLI, runs swift test.
# swift test runs last so its closing line reports the run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash Scripts/setup.sh
PYTHON="$(bash Scripts/python-env.sh)"

echo "== generating ONNX conformance node tests into Conformance/node"
"$PYTHON" Scripts/generate-conformance.py

echo "== building"
swift build --build-tests

echo "== corrupted files through kiln inspect / run / convert"
bash Scripts/check-corrupt-files.sh .build/debug/kiln 500

echo "== swift test"
swift test --skip-build
