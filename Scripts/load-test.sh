#!/usr/bin/env bash
# HTTP load test of kiln serve with wrk (MLP and CNN fixtures, several concurrencies).
# Builds kiln in release mode, installs wrk when missing, and writes its figures into
# Docs/PERFORMANCE.md. Arguments go to Scripts/python/load_test.py (--help lists them).
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo_root/Scripts/setup.sh"
need=()
command -v wrk >/dev/null || need+=(wrk)
if (( ${#need[@]} )); then
    SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
swift build -c release --package-path "$repo_root" --product kiln >&2
python=$(KILN_VENV=.venv-http bash "$repo_root/Scripts/python-env.sh" "$repo_root/Scripts/python/requirements-http.txt")
exec "$python" "$repo_root/Scripts/python/load_test.py" "$@"
