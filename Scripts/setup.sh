#!/usr/bin/env bash
# Installs the system packages Kiln needs on Debian/Ubuntu when they are missing (idempotent).
set -euo pipefail

if ! pkg-config --exists openblas 2>/dev/null; then
    echo "== installing libopenblas-dev and pkg-config" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq libopenblas-dev pkg-config >/dev/null
fi
