#!/usr/bin/env bash
# Creates or updates the repo's Python venv (.venv/ at the repo root) with pinned requirements and
# prints the venv's python path on stdout (everything else goes to stderr), so callers can do:
#
#   PY=$(bash Scripts/python-env.sh)                                        # fixture tools
#   PY=$(KILN_VENV=.venv-zoo bash Scripts/python-env.sh Scripts/python/requirements-zoo.txt)
#                                                                           # + torch etc. (Scripts/zoo.sh)
#
# Re-running is cheap: a stamp per requirements file records the hash of that file (and the files it
# includes with -r) plus the base interpreter's version, and pip runs only when the hash changed.
# Environment: PYTHON picks the base interpreter (default python3); KILN_VENV picks the venv folder
# (default .venv; relative paths are taken from the repo root), so the several-GB torch environment
# of the model zoo can live apart from the light fixture one.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
requirements=${1:-"$repo_root/Scripts/python/requirements.txt"}
base_python=${PYTHON:-python3}
venv=${KILN_VENV:-.venv}
[[ $venv = /* ]] || venv="$repo_root/$venv"
venv_python="$venv/bin/python"

if [[ ! -f "$requirements" ]]; then
    echo "python-env.sh: requirements file not found: $requirements" >&2
    exit 2
fi
requirements=$(cd "$(dirname "$requirements")" && pwd)/$(basename "$requirements")

if ! command -v "$base_python" >/dev/null 2>&1; then
    echo "python-env.sh: no '$base_python' on PATH (set PYTHON=/path/to/python3)" >&2
    exit 2
fi

# Concatenates a requirements file and, recursively, the files it pulls in with -r/--requirement,
# so editing an included file invalidates the stamp of every file that includes it.
requirements_closure() {
    local file=$1 dir line included
    dir=$(dirname "$file")
    cat "$file"
    while IFS= read -r line; do
        if [[ $line =~ ^[[:space:]]*(-r|--requirement)[[:space:]=]+([^[:space:]#]+) ]]; then
            included=${BASH_REMATCH[2]}
            [[ $included = /* ]] || included="$dir/$included"
            requirements_closure "$included"
        fi
    done <"$file"
}

# Two callers (e.g. parallel test scripts) must not create or pip-install into the venv at once.
mkdir -p "$venv"
exec 9>"$venv/.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi

base_version=$("$base_python" -c 'import sys; print(sys.version)')
wanted_hash=$({ requirements_closure "$requirements"; echo "python: $base_version"; } | sha256sum | cut -d' ' -f1)
stamp_dir="$venv/.stamps"
stamp="$stamp_dir/$(basename "$requirements").sha256"

if [[ -x "$venv_python" ]] && "$venv_python" -c 'import sys' >/dev/null 2>&1 &&
    [[ -f "$stamp" ]] && [[ $(cat "$stamp") == "$wanted_hash" ]]; then
    echo "$venv_python"
    exit 0
fi

if ! [[ -x "$venv_python" ]] || ! "$venv_python" -c 'import sys' >/dev/null 2>&1 ||
    [[ $("$venv_python" -c 'import sys; print(sys.version)') != "$base_version" ]]; then
    echo "python-env.sh: creating $venv with $base_python ($base_version)" >&2
    find "$venv" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
    "$base_python" -m venv "$venv" >&2
fi

echo "python-env.sh: installing $(basename "$requirements") into $venv" >&2
"$venv_python" -m pip install --disable-pip-version-check --quiet --requirement "$requirements" >&2
mkdir -p "$stamp_dir"
echo "$wanted_hash" >"$stamp"
echo "$venv_python"
