#!/usr/bin/env bash
# Fills a model repository with the small models the project ships (Fixtures/), each as version 1
# labelled `stable`, so `kiln serve` has something real to serve on a fresh machine:
#
#   bash Scripts/default-repository.sh DIR [KILN_BINARY]
#
# Models already in DIR are left alone, so re-running is cheap and keeps versions published since.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
repository=${1:?usage: default-repository.sh DIR [KILN_BINARY]}
kiln=${2:-"$repo_root/.build/release/kiln"}

# model name in the repository -> fixture folder
models=(
    "mlp:mlp"
    "cnn:cnn"
    "encoder:encoder"
    "resnet-mini:zoo-resnet-mini"
    "minilm-mini:zoo-minilm-mini"
)
for entry in "${models[@]}"; do
    name=${entry%%:*}
    fixture=${entry#*:}
    if [[ -d "$repository/$name" ]]; then continue; fi
    "$kiln" store publish "$repo_root/Fixtures/$fixture/model.kiln" --repository "$repository" \
        --model "$name" --version 1 --label stable >&2
done
