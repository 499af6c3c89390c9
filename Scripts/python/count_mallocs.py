"""Heap allocations per steady-state run, Kiln against ONNX Runtime, on the zoo models.

Each side runs in a process of its own under a malloc-counting preload (malloc_shim.c, compiled
here with the system C compiler): once with W warm-up + N1 timed runs and once with W + N2, so the
difference divided by N2 - N1 is what one steady-state run allocates, load and start-up excluded.
Kiln runs through `kiln bench` (pass the build to measure with --kiln), ORT through its Python API
with the same inputs and thread count. Prints a Markdown table: allocations, bytes and the largest
size class per run; --sites N adds Kiln's N most frequent call sites (needs `addr2line` and
`swift-demangle`). The package-benchmark suite (Benchmarks/) counts the plain build's allocations
with the same intent; this also covers builds with other flags, and gives ORT's figure beside it.

    bash Scripts/count-mallocs.sh --kiln .build-flags/release/kiln --cases resnet50,minilm-s128-b1
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_with_ort import CASES, REPO_ROOT, ensure_converted, make_inputs  # noqa: E402

SHIM_SOURCE = Path(__file__).resolve().parent / "malloc_shim.c"
BUCKETS = ["< 256 B", "< 4 KiB", "< 64 KiB", "< 1 MiB", ">= 1 MiB"]

ORT_LOOP = """
import sys, numpy as np, onnxruntime as ort
model, folder, threads, warmup, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
from pathlib import Path
options = ort.SessionOptions()
options.intra_op_num_threads = threads
options.inter_op_num_threads = 1
options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
feeds = {p.stem: np.load(p) for p in sorted(Path(folder).glob("*.npy"))}
for _ in range(warmup + runs):
    session.run(None, feeds)
"""


def build_shim(directory: Path) -> Path:
    library = directory / "malloc_shim.so"
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", str(library), str(SHIM_SOURCE), "-ldl", "-lpthread"],
                   check=True)
    return library


def counted(command: list[str], shim: Path, out: Path) -> dict:
    """Runs `command` under the shim (address randomization off, so call sites match across runs)."""
    env = {"LD_PRELOAD": str(shim), "KILN_MALLOC_COUNT_OUT": str(out)}
    result = subprocess.run(["setarch", "-R", "env", *[f"{k}={v}" for k, v in env.items()], *command],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {result.stderr.strip()[-300:]}")
    lines = out.read_text().splitlines()
    total = [int(x) for x in lines[0].split()[1:]]
    sites = {}
    for line in lines[1:]:
        count, size, first, second = line.split()
        sites[(first, second)] = (int(count), int(size))
    return {"count": total[0], "bytes": total[1], "buckets": total[2:], "sites": sites, "maps": Path(f"{out}.maps")}


def per_run(low: dict, high: dict, runs: int) -> dict:
    return {"count": (high["count"] - low["count"]) / runs, "bytes": (high["bytes"] - low["bytes"]) / runs,
            "buckets": [(h - l) / runs for h, l in zip(high["buckets"], low["buckets"])]}


def symbolize(address: str, maps: Path, cache: dict) -> str:
    if address in cache:
        return cache[address]
    value = int(address, 16)
    name = address
    for line in maps.read_text().splitlines():
        fields = line.split()
        if len(fields) < 6 or "x" not in fields[1]:
            continue
        low, high = (int(x, 16) for x in fields[0].split("-"))
        if low <= value < high:
            offset = value - low + int(fields[2], 16)
            found = subprocess.run(["addr2line", "-f", "-e", fields[5], hex(offset)],
                                   capture_output=True, text=True).stdout.split("\n")[0]
            if found and found != "??":
                name = subprocess.run(["swift-demangle", "-simplified", "-compact", found],
                                      capture_output=True, text=True).stdout.strip() or found
            else:
                name = f"{Path(fields[5]).name}+{hex(offset)}"
            break
    cache[address] = name[:120]
    return cache[address]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiln", default=str(REPO_ROOT / ".build/release/kiln"))
    parser.add_argument("--cases", default=",".join(c.id for c in CASES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--runs", default="20,120", help="the two run counts N1,N2")
    parser.add_argument("--sites", type=int, default=0, help="list Kiln's N most frequent call sites")
    parser.add_argument("--no-ort", action="store_true")
    args = parser.parse_args()
    low_runs, high_runs = (int(x) for x in args.runs.split(","))
    kiln = Path(args.kiln)
    wanted = args.cases.split(",")
    cases = [c for c in CASES if c.id in wanted]
    print(f"Heap allocations per steady-state run ({args.threads} threads; runs {low_runs} and {high_runs} "
          f"after {args.warmup} warm-up runs, difference divided by {high_runs - low_runs}); Kiln {kiln}")
    print()
    print("| model | Kiln allocations | Kiln bytes | Kiln by size (" + ", ".join(BUCKETS) + ") | ORT allocations | ORT bytes | ORT by size |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        shim = build_shim(work)
        site_reports = []
        for case in cases:
            onnx_path = REPO_ROOT / "Zoo" / case.model / "model.onnx"
            model, error = ensure_converted(kiln, onnx_path, 600)
            if model is None:
                print(f"| {case.label} | {error} |")
                continue
            inputs = make_inputs(case, onnx_path, work / case.id)
            bench = [str(kiln), "bench", str(model), "--threads", str(args.threads), "--warmup", str(args.warmup),
                     "--loads", "1", "--json"]
            for name, path in inputs.items():
                bench += ["--input", f"{name}={path}"]
            low = counted(bench + ["--iterations", str(low_runs)], shim, work / "kiln-low.txt")
            high = counted(bench + ["--iterations", str(high_runs)], shim, work / "kiln-high.txt")
            kiln_run = per_run(low, high, high_runs - low_runs)
            row = [case.label, f"{kiln_run['count']:.0f}", f"{kiln_run['bytes'] / 1024:.1f} KiB",
                   " / ".join(f"{b:.0f}" for b in kiln_run["buckets"])]
            if args.no_ort:
                row += ["-", "-", "-"]
            else:
                loop = [sys.executable, "-c", ORT_LOOP, str(onnx_path), str(work / case.id), str(args.threads),
                        str(args.warmup)]
                ort_low = counted(loop + [str(low_runs)], shim, work / "ort-low.txt")
                ort_high = counted(loop + [str(high_runs)], shim, work / "ort-high.txt")
                ort_run = per_run(ort_low, ort_high, high_runs - low_runs)
                row += [f"{ort_run['count']:.0f}", f"{ort_run['bytes'] / 1024:.1f} KiB",
                        " / ".join(f"{b:.0f}" for b in ort_run["buckets"])]
            print("| " + " | ".join(row) + " |", flush=True)
            if args.sites:
                differences = []
                for key, (count, size) in high["sites"].items():
                    before = low["sites"].get(key, (0, 0))
                    if count > before[0]:
                        differences.append(((count - before[0]) / (high_runs - low_runs),
                                            (size - before[1]) / (high_runs - low_runs), key))
                differences.sort(reverse=True)
                cache: dict = {}
                lines = [f"{case.label}: Kiln's call sites (allocations and bytes per run; caller <- its caller)"]
                for count, size, (first, second) in differences[:args.sites]:
                    lines.append(f"  {count:7.1f} {size:9.0f} B  {symbolize(first, high['maps'], cache)}"
                                 f"  <-  {symbolize(second, high['maps'], cache)}")
                site_reports.append("\n".join(lines))
    for report in site_reports:
        print()
        print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
