"""Rolling update under load: two `kiln serve` replicas share one repository behind nginx on loopback;
wrk drives predictions through nginx while (1) a new version is published and each replica hot-reloads
it, and (2) each replica in turn is stopped with SIGTERM and started again, as a binary upgrade would.
Passes when no request failed. Prints a summary and rewrites its section of Docs/PERFORMANCE.md.

    bash Scripts/rolling-update.sh [--seconds 40] [--connections 16]
"""
import argparse
import datetime
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import serving_harness as harness

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {work}/nginx-body;
    proxy_temp_path {work}/nginx-proxy;
    fastcgi_temp_path {work}/nginx-fastcgi;
    uwsgi_temp_path {work}/nginx-uwsgi;
    scgi_temp_path {work}/nginx-scgi;
    upstream kiln {{
        server 127.0.0.1:{a} max_fails=1 fail_timeout=1s;
        server 127.0.0.1:{b} max_fails=1 fail_timeout=1s;
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://kiln;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # A replica that is restarting refuses connections or answers 503 while it drains: try the
            # other one. Inference requests have no side effects, so retrying a POST is safe.
            proxy_next_upstream error timeout http_503 non_idempotent;
            proxy_next_upstream_tries 2;
        }}
    }}
}}
"""


def model_version_ready(port: int, version: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/models/mlp/versions/{version}/ready", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def served_version(port: int, request: bytes) -> str:
    call = urllib.request.Request(f"http://127.0.0.1:{port}/v2/models/mlp/infer", data=request,
                                  headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(call, timeout=10) as response:
        return json.loads(response.read())["model_version"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kiln", default=str(harness.ROOT / ".build" / "release" / "kiln"))
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    if shutil.which("nginx") is None and not pathlib.Path("/usr/sbin/nginx").exists():
        sys.exit("rolling_update: nginx not found (apt-get install nginx-light)")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"

    machine = harness.machine_line()
    events = []
    started = time.monotonic()

    def log(message: str) -> None:
        events.append(f"{time.monotonic() - started:5.1f} s  {message}")
        print(events[-1], file=sys.stderr)

    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        repository = work / "repository"
        harness.publish_defaults(args.kiln, repository)
        ports = [harness.free_port(), harness.free_port()]
        extra = ["--poll-ms", "500"]
        replicas = [harness.start_server(args.kiln, repository, port, work / f"replica{i}.log", *extra)
                    for i, port in enumerate(ports)]
        proxy_port = harness.free_port()
        (work / "nginx.conf").write_text(NGINX_CONF.format(work=work, a=ports[0], b=ports[1], port=proxy_port))
        proxy = subprocess.Popen([nginx, "-c", str(work / "nginx.conf"), "-p", str(work)],
                                 stderr=(work / "nginx.out").open("wb"))
        request_file = harness.ROOT / "Examples" / "requests" / "mlp.json"
        request = request_file.read_bytes()
        try:
            for _ in range(100):
                try:
                    if served_version(proxy_port, request) == "1":
                        break
                except OSError:
                    time.sleep(0.1)
            log(f"replicas on {ports}, nginx on {proxy_port}; serving mlp version 1")
            result: dict = {}
            load = threading.Thread(target=lambda: result.update(harness.run_wrk(
                f"http://127.0.0.1:{proxy_port}/v2/models/mlp/infer", request_file, args.connections, args.seconds)))
            load.start()
            time.sleep(args.seconds * 0.15)

            subprocess.run([args.kiln, "store", "publish", str(harness.ROOT / "Fixtures" / "mlp" / "model.kiln"),
                            "--repository", str(repository), "--model", "mlp", "--version", "2"],
                           check=True, capture_output=True)
            log("published mlp version 2")
            deadline = time.monotonic() + 30
            while not all(model_version_ready(port, 2) for port in ports):
                if time.monotonic() > deadline:
                    raise RuntimeError("replicas did not load version 2 within 30 s")
                time.sleep(0.05)
            log("both replicas serve version 2")
            time.sleep(args.seconds * 0.15)

            for index, port in enumerate(ports):
                replicas[index].terminate()
                code = replicas[index].wait(timeout=60)
                log(f"replica {index} stopped by SIGTERM, exit code {code}")
                if code != 0:
                    raise RuntimeError(f"replica {index} exited {code} after SIGTERM")
                replicas[index] = harness.start_server(args.kiln, repository, port, work / f"replica{index}.log", *extra)
                log(f"replica {index} restarted and ready")
                time.sleep(args.seconds * 0.1)
            load.join()
            versions = {served_version(proxy_port, request) for _ in range(20)}
            log(f"load finished; after the update every response comes from version(s) {sorted(versions)}")
        finally:
            proxy.terminate()
            proxy.wait(timeout=30)
            for replica in replicas:
                if replica.poll() is None:
                    replica.terminate()
                    replica.wait(timeout=60)

    failed = result.get("non2xx", 0) + result.get("socket_errors", 0)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    revision = subprocess.run(["git", "-C", str(harness.ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
    summary = "\n".join([
        f"Measured {stamp} on {machine}; Kiln {revision} (`swift build -c release`), two `kiln serve` replicas "
        f"(`--poll-ms 500`) sharing one repository behind nginx 1.22 (`proxy_next_upstream error timeout "
        f"http_503 non_idempotent`), wrk with {args.connections} connections for {args.seconds:g} s through nginx.",
        "",
        f"- requests: {result.get('requests', 0)} ({result.get('rps', 0):.0f}/s), **failed: {failed}** "
        f"(non-2xx {result.get('non2xx', 0)}, socket errors {result.get('socket_errors', 0)})",
        f"- latency through nginx over the whole run: p50 {result.get('p50', 0):.2f} ms, p90 {result.get('p90', 0):.2f} ms, "
        f"p99 {result.get('p99', 0):.2f} ms",
        "- timeline:",
        *[f"  - {event}" for event in events],
    ])
    print(summary)
    if not args.no_docs:
        harness.replace_section(harness.ROOT / "Docs" / "PERFORMANCE.md", "rolling-update", summary)
    if failed or versions != {"2"}:
        sys.exit("rolling_update: FAIL")


if __name__ == "__main__":
    main()
