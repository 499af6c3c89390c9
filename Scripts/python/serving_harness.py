"""Shared pieces of the HTTP load and rolling-update drivers: starting `kiln serve`, waiting for it,
running wrk and reading its report, and rewriting a generated section of a Markdown file."""
import os
import pathlib
import re
import socket
import subprocess
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
WRK_SCRIPT = ROOT / "Scripts" / "wrk" / "post-request.lua"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"kiln serve on port {port} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"kiln serve on port {port} not ready after {timeout} s")


def start_server(kiln: str, repository: pathlib.Path, port: int, log: pathlib.Path, *extra: str) -> subprocess.Popen:
    process = subprocess.Popen([kiln, "serve", "--repository", str(repository), "--host", "127.0.0.1",
                                "--port", str(port), *extra],
                               stdout=log.open("ab"), stderr=subprocess.STDOUT)
    wait_ready(port, process)
    return process


def publish_defaults(kiln: str, repository: pathlib.Path) -> None:
    subprocess.run(["bash", str(ROOT / "Scripts" / "default-repository.sh"), str(repository), kiln],
                   check=True, stderr=subprocess.DEVNULL)


def _milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unreadable wrk duration {text!r}")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def run_wrk(url: str, request: pathlib.Path, connections: int, seconds: float, threads: int = 2) -> dict:
    """Runs wrk with latency percentiles and returns requests/s, p50/p90/p99 ms and failure counts."""
    env = dict(os.environ, KILN_REQUEST=str(request), KILN_HEADER_LENGTH="")
    match = re.search(r"\.binary-(\d+)\.bin$", request.name)
    if match:  # Examples/requests/MODEL.binary-N.bin: N is the JSON header's length
        env["KILN_HEADER_LENGTH"] = match.group(1)
    output = subprocess.run(["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds:g}s",
                             "--latency", "-s", str(WRK_SCRIPT), url],
                            env=env, check=True, capture_output=True, text=True).stdout
    result = {"connections": connections, "non2xx": 0, "socket_errors": 0}
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("Requests/sec:"):
            result["rps"] = float(line.split()[1])
        elif re.match(r"^(50|90|99)%\s", line):
            percent, value = line.split()
            result[f"p{percent.rstrip('%')}"] = _milliseconds(value)
        elif line.startswith("Non-2xx or 3xx responses:"):
            result["non2xx"] = int(line.split(":")[1])
        elif line.startswith("Socket errors:"):
            result["socket_errors"] = sum(int(n) for n in re.findall(r"\d+", line))
        elif re.match(r"^\d+ requests in", line):
            result["requests"] = int(line.split()[0])
    if "rps" not in result:
        raise RuntimeError(f"wrk printed no summary:\n{output}")
    return result


def replace_section(path: pathlib.Path, marker: str, body: str) -> None:
    """Replaces the text between `<!-- BEGIN marker -->` and `<!-- END marker -->` (appending the pair
    at the end of the file when it is missing)."""
    begin, end = f"<!-- BEGIN {marker} -->", f"<!-- END {marker} -->"
    text = path.read_text()
    block = f"{begin}\n{body.rstrip()}\n{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def machine_line() -> str:
    cpu = "unknown CPU"
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = os.getloadavg()[0]
    return f"{cpu}, {os.cpu_count()} logical CPUs, 1-minute load average {load:.1f} at the start"
