#!/usr/bin/env python3
"""Where a model's time goes, node by node, in ONNX Runtime and in Kiln, at one thread count.

ORT side: a session with profiling enabled (same options as compare_with_ort.py) runs the model
`--runs` times after warm-up; each node's time is the median of its per-run durations. Kiln side:
`KILN_PROFILE=1 kiln bench` prints one line per node and run to stderr; each node's time is the
median over runs. Kiln's graph is optimized differently (fusions), so the two lists are printed side
by side, not matched node for node; the totals and the per-operator sums are what compare.

Usage (the light venv from Scripts/python-env.sh has onnxruntime):
    $PY Scripts/python/profile_nodes.py Zoo/squeezenet1_1 --threads 2 [--dim batch=1] [--runs 50]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort

REPO_ROOT = Path(__file__).resolve().parents[2]


def synthesized_inputs(session: ort.InferenceSession, dims: dict[str, int]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    feeds = {}
    for spec in session.get_inputs():
        shape = [d if isinstance(d, int) else dims.get(d, 1) for d in spec.shape]
        if "int64" in spec.type:
            feeds[spec.name] = np.ones(shape, dtype=np.int64)
        else:
            feeds[spec.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def ort_profile(model: Path, threads: int, dims: dict[str, int], runs: int) -> list[tuple[str, str, float]]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    with tempfile.TemporaryDirectory() as directory:
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(directory, "ort")
        session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        feeds = synthesized_inputs(session, dims)
        # Warm-up runs land in the profile too; only the last `runs` occurrences of a node count.
        for _ in range(5 + runs):
            session.run(None, feeds)
        events = json.loads(Path(session.end_profiling()).read_text())
    durations: dict[str, list[float]] = collections.defaultdict(list)
    kinds: dict[str, str] = {}
    order: list[str] = []
    for event in events:
        if event.get("cat") != "Node" or not event["name"].endswith("_kernel_time"):
            continue
        name = event["name"][: -len("_kernel_time")]
        if name not in kinds:
            order.append(name)
        kinds[name] = event.get("args", {}).get("op_name", "?")
        durations[name].append(event["dur"] / 1000)
    return [(name, kinds[name], statistics.median(durations[name][-runs:])) for name in order]


def kiln_profile(kiln_model: Path, threads: int, dims: dict[str, int], runs: int, kiln: Path) -> list[tuple[str, str, float]]:
    command = [str(kiln), "bench", str(kiln_model), "--threads", str(threads), "--warmup", "5",
               "--iterations", str(runs), "--json"]
    for name, size in dims.items():
        command += ["--dim", f"{name}={size}"]
    result = subprocess.run(command, env={**os.environ, "KILN_PROFILE": "1"}, capture_output=True, text=True, check=True)
    durations: dict[str, list[float]] = collections.defaultdict(list)
    kinds: dict[str, str] = {}
    order: list[str] = []
    for line in result.stderr.splitlines():
        parsed = parse_kiln_line(line)
        if parsed is None:
            continue
        name, kind, ms = parsed
        if name not in kinds:
            order.append(name)
        kinds[name] = kind
        durations[name].append(ms)
    return [(name, kinds[name], statistics.median(durations[name][-runs:])) for name in order]


def parse_kiln_line(line: str) -> tuple[str, str, float] | None:
    """One `KILN_PROFILE` line: `kiln-profile <op> <wall ns> <CPU ns> <node> <shape>` (see InferenceSession)."""
    fields = line.split()
    if len(fields) < 5 or fields[0] != "kiln-profile":
        return None
    try:
        return fields[4], fields[1], int(fields[2]) / 1e6
    except ValueError:
        return None


def print_side(title: str, rows: list[tuple[str, str, float]], top: int) -> None:
    total = sum(ms for _, _, ms in rows)
    print(f"== {title}: {len(rows)} nodes, sum of node medians {total:.3f} ms")
    by_kind: dict[str, float] = collections.defaultdict(float)
    for _, kind, ms in rows:
        by_kind[kind] += ms
    for kind, ms in sorted(by_kind.items(), key=lambda item: -item[1]):
        print(f"   {kind:<28} {ms:8.3f} ms")
    print(f"   -- nodes in graph order ({'all' if top == 0 else f'those above {top} us'}):")
    for name, kind, ms in rows:
        if top == 0 or ms * 1000 >= top:
            print(f"   {ms:8.3f}  {kind:<24} {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path, help="a Zoo/<model> directory with model.onnx (and model.kiln)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dim", action="append", default=[], help="NAME=SIZE for symbolic input dims")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--min-us", type=int, default=0, help="list only nodes at least this long")
    parser.add_argument("--kiln", type=Path, default=REPO_ROOT / ".build/release/kiln")
    args = parser.parse_args()
    dims = {name: int(size) for name, size in (item.split("=", 1) for item in args.dim)}
    onnx_model = args.model_dir / "model.onnx"
    kiln_model = args.model_dir / "model.kiln"
    if not kiln_model.exists():
        subprocess.run([str(args.kiln), "convert", str(onnx_model), "-o", str(kiln_model)], check=True,
                       capture_output=True)
    print_side(f"ONNX Runtime {ort.__version__}, {args.threads} threads", ort_profile(onnx_model, args.threads, dims, args.runs), args.min_us)
    print_side(f"Kiln, {args.threads} threads", kiln_profile(kiln_model, args.threads, dims, args.runs, args.kiln), args.min_us)


if __name__ == "__main__":
    main()
