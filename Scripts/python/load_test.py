"""HTTP load test of `kiln serve` on loopback with wrk: throughput and p50/p90/p99 latency for the MLP
and CNN fixtures at several concurrencies, JSON requests (Examples/requests/*.json). Prints one table
and rewrites its section of Docs/PERFORMANCE.md.

    bash Scripts/load-test.sh [--seconds 10] [--connections 1,8,32,64]
"""
import argparse
import datetime
import pathlib
import subprocess
import sys
import tempfile

import serving_harness as harness

MODELS = [("mlp", "MLP fixture (784-128-64-10)"), ("cnn", "CNN fixture (3x32x32 image)")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kiln", default=str(harness.ROOT / ".build" / "release" / "kiln"))
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", default="1,8,32,64")
    parser.add_argument("--threads", type=int, help="kiln serve --threads (default: its own, cores / instances)")
    parser.add_argument("--no-docs", action="store_true", help="print only; leave Docs/PERFORMANCE.md alone")
    args = parser.parse_args()
    connections = [int(c) for c in args.connections.split(",")]

    machine = harness.machine_line()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        harness.publish_defaults(args.kiln, work / "repository")
        port = harness.free_port()
        extra = ["--threads", str(args.threads)] if args.threads else []
        server = harness.start_server(args.kiln, work / "repository", port, work / "server.log", *extra)
        try:
            for (model, title), encoding in [(entry, encoding) for entry in MODELS for encoding in ("JSON", "binary")]:
                requests = harness.ROOT / "Examples" / "requests"
                request = (requests / f"{model}.json" if encoding == "JSON"
                           else next(requests.glob(f"{model}.binary-*.bin")))
                url = f"http://127.0.0.1:{port}/v2/models/{model}/infer"
                harness.run_wrk(url, request, connections=4, seconds=2)  # warm-up
                for count in connections:
                    result = harness.run_wrk(url, request, count, args.seconds)
                    rows.append((title, encoding, result))
                    print(f"{model} {encoding} c={count}: {result['rps']:.0f} req/s, p50 {result['p50']:.2f} ms, "
                          f"p99 {result['p99']:.2f} ms, failures {result['non2xx'] + result['socket_errors']}",
                          file=sys.stderr)
        finally:
            server.terminate()
            server.wait(timeout=30)

    revision = subprocess.run(["git", "-C", str(harness.ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Measured {stamp} on {machine}; Kiln {revision}, `swift build -c release`, `kiln serve"
        f"{' --threads ' + str(args.threads) if args.threads else ''}` with the default repository (Scripts/default-repository.sh), dynamic batching at its "
        f"defaults; wrk 4.1 on the same machine (2 wrk threads, so client and server share the cores), "
        f"{args.seconds:g} s per row, request bodies from Examples/requests/ (JSON tensors, or the binary "
        f"tensor data extension with a binary answer).",
        "",
        "| model | body | connections | requests/s | p50 ms | p90 ms | p99 ms | failed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for title, encoding, r in rows:
        lines.append(f"| {title} | {encoding} | {r['connections']} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p90']:.2f} | "
                     f"{r['p99']:.2f} | {r['non2xx'] + r['socket_errors']} |")
    table = "\n".join(lines)
    print(table)
    if not args.no_docs:
        harness.replace_section(harness.ROOT / "Docs" / "PERFORMANCE.md", "http-load-test", table)


if __name__ == "__main__":
    main()
