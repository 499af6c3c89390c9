#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs what is missing, builds, runs the tests.
# swift test's own summary is printed last so its closing line reports the run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash Scripts/setup.sh
swift build --build-tests
swift test --skip-build
