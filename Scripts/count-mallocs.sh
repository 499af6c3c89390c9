#!/usr/bin/env bash
# Heap allocations per steady-state run, Kiln (`kiln bench`) against ONNX Runtime, on the zoo models:
# Scripts/python/count_mallocs.py under a malloc-counting preload. Needs a C compiler and setarch.
#
#   bash Scripts/zoo.sh                                    # once: export the models into Zoo/
#   bash Scripts/count-mallocs.sh                          # .build/release/kiln, all cases, 2 threads
#   bash Scripts/count-mallocs.sh --kiln .build-flags/release/kiln --cases resnet50 --sites 20
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=$(bash "$repo_root/Scripts/python-env.sh")
exec "$python" "$repo_root/Scripts/python/count_mallocs.py" "$@"
