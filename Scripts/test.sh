#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs what is missing, generates the ONNX
# conformance data (Python, in .venv), builds, feeds corrupted files to the CLI, runs swift test,
# then drives `kiln serve` with curl, tritonclient (its own venv, .venv-http) and a fuzz run.
# The serving tests (timing-dependent: deadlines, batching delays) run in their own swift test
# process after the CPU-heavy suites, so a busy 2-core machine cannot starve them.
set -euo pipefail
cd "$(dirname "$0")/.."

bash Scripts/setup.sh
PYTHON="$(bash Scripts/python-env.sh)"

echo "== generating ONNX conformance node tests into Conformance/node"
"$PYTHON" Scripts/generate-conformance.py

echo "== building"
swift build --build-tests

echo "== corrupted files through kiln inspect / run / convert"
bash Scripts/check-corrupt-files.sh .build/debug/kiln 500 200

echo "== Examples/ServingExample: a separate package that depends on Kiln by path; build and run it"
swift build --package-path Examples/ServingExample
Examples/ServingExample/.build/debug/ServingExample

echo "== swift test: runtime, operators, format, ONNX import, conformance"
swift test --skip-build --skip KilnServingTests --skip KilnHTTPTests

echo "== swift test: serving and HTTP"
swift test --skip-build --filter 'KilnServingTests|KilnHTTPTests'

echo "== kiln serve with real clients: curl, tritonclient (JSON and binary), 10,000 malformed requests, SIGTERM"
bash Scripts/http-integration.sh .build/debug/kiln

echo "== rolling update: two kiln serve replicas behind nginx under wrk load, a publish and a restart of each"
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx-light)
if (( ${#need[@]} )); then
    SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
.venv-http/bin/python Scripts/python/rolling_update.py --kiln .build/debug/kiln --seconds 20 --connections 8 --no-docs
