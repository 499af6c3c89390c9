#!/usr/bin/env bash
# Rolling update under load: two kiln serve replicas behind nginx, a publish and a restart of each.
# Builds kiln in release mode, installs wrk and nginx when missing, and writes its figures into
# Docs/PERFORMANCE.md. Arguments go to Scripts/python/rolling_update.py (--help lists them).
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo_root/Scripts/setup.sh"
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx-light)
if (( ${#need[@]} )); then
    SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
swift build -c release --package-path "$repo_root" --product kiln >&2
python=$(KILN_VENV=.venv-http bash "$repo_root/Scripts/python-env.sh" "$repo_root/Scripts/python/requirements-http.txt")
exec "$python" "$repo_root/Scripts/python/rolling_update.py" "$@"
