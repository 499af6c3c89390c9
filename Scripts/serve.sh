#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing (OpenBLAS), builds kiln in release mode,
# fills a default model repository with the small models the project ships (Fixtures/: mlp, cnn,
# encoder, resnet-mini, minilm-mini; version 1, label `stable`), starts `kiln serve` on it, and prints
# a curl line that returns a real prediction. Ctrl-C (or SIGTERM) stops the server gracefully.
#
#   bash Scripts/serve.sh [--port 8080] [--repository DIR] [other kiln serve options]
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
port=8080
repository="$repo_root/.build/default-repository"
passthrough=()
while (($#)); do
    case "$1" in
        --port) port=$2; shift 2 ;;
        --repository) repository=$2; shift 2 ;;
        *) passthrough+=("$1"); shift ;;
    esac
done

bash "$repo_root/Scripts/setup.sh"
echo "== building kiln (release)" >&2
swift build -c release --package-path "$repo_root" --product kiln >&2
kiln="$repo_root/.build/release/kiln"
bash "$repo_root/Scripts/default-repository.sh" "$repository" "$kiln"
"$kiln" store list --repository "$repository" >&2

"$kiln" serve --repository "$repository" --host 127.0.0.1 --port "$port" ${passthrough[@]+"${passthrough[@]}"} &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; wait $server' INT TERM
for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null 2>&1 && break
    kill -0 $server 2>/dev/null || { echo "serve.sh: kiln serve exited" >&2; exit 1; }
    sleep 0.2
done
cat >&2 <<MSG

kiln serve is ready on http://127.0.0.1:$port with the models in $repository.
A prediction from the MLP fixture (ONNX Runtime's answer is in Fixtures/mlp/expected_b1/logits.npy):

  curl -s http://127.0.0.1:$port/v2/models/mlp/infer -H 'Content-Type: application/json' -d @$repo_root/Examples/requests/mlp.json

Model metadata: curl -s http://127.0.0.1:$port/v2/models/mlp   Metrics: curl -s http://127.0.0.1:$port/metrics
Stop with Ctrl-C.
MSG
wait $server
