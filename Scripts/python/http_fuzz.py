"""Sends malformed requests to a running `kiln serve` and checks that it answers each with a client
error, stays up, keeps predicting correctly, and that its memory stays flat.

    .venv-http/bin/python Scripts/python/http_fuzz.py --url 127.0.0.1:8080 --pid PID --count 10000

Kinds of request (chosen at random, seeded): bytes that are not JSON, truncated valid requests,
JSON of the wrong types, data lengths that disagree with the shape, huge and negative shapes, unknown
and mismatched datatypes, binary payloads shorter than their headers say, bad binary header lengths,
unknown models and versions, wrong methods, and bodies over the size limit. Every 500 requests a
valid prediction is checked against the fixture's expected output and the server's resident memory
is sampled (/proc/PID/status). Exits non-zero with the reason on any 5xx other than 503, a dropped
connection that was not a refused oversize body, a wrong prediction, or memory growth past the bound.
"""
import argparse
import http.client
import json
import pathlib
import random
import socket
import sys
import threading

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
VALID = json.loads((ROOT / "Examples" / "requests" / "mlp.json").read_text())
EXPECTED = np.load(ROOT / "Fixtures" / "mlp" / "expected_b1" / "logits.npy")


def valid_body() -> dict:
    return json.loads(json.dumps(VALID))


def binary_request(rng: random.Random) -> tuple:
    """A binary-extension request whose header or payload lengths are wrong in one of several ways."""
    x = np.asarray(VALID["inputs"][0]["data"], dtype=np.float32).tobytes()
    header = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 784],
                          "parameters": {"binary_data_size": len(x)}}]}
    kind = rng.randrange(5)
    if kind == 0:
        payload = x[: rng.randrange(len(x))]                      # truncated payload
    elif kind == 1:
        payload = x + b"\0" * rng.randrange(1, 64)                # trailing bytes
    elif kind == 2:
        header["inputs"][0]["parameters"]["binary_data_size"] = rng.choice([-1, 2**62, len(x) + 4])
        payload = x
    elif kind == 3:
        header["inputs"][0]["parameters"]["binary_data_size"] = "many"
        payload = x
    else:
        payload = x
    text = json.dumps(header).encode()
    declared = {0: len(text), 1: len(text), 2: len(text), 3: len(text),
                4: rng.choice([len(text) + len(payload) + 10, -5, 0, 2**40])}[kind]
    headers = {"Inference-Header-Content-Length": str(declared), "Content-Type": "application/octet-stream"}
    return "POST", "/v2/models/mlp/infer", text + payload, headers


def malformed(rng: random.Random) -> tuple:
    """(method, path, body bytes, headers) of one malformed request."""
    path = "/v2/models/mlp/infer"
    kind = rng.randrange(12)
    body = valid_body()
    tensor = body["inputs"][0]
    if kind == 0:
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        return "POST", path, raw, {}
    if kind == 1:
        raw = json.dumps(body).encode()
        return "POST", path, raw[: rng.randrange(1, len(raw) - 1)], {}
    if kind == 2:
        tensor["data"] = tensor["data"][: rng.randrange(0, 784)] + ([] if rng.random() < 0.5 else [1.0] * rng.randrange(1, 5))
    elif kind == 3:
        tensor["shape"] = rng.choice([[2**40, 2**40], [-1, 784], [1, -784], [2**62, 2**62, 4],
                                      [1] * 64, [0, 784], [1, 784, 1, 1, 1, 2**31]])
    elif kind == 4:
        tensor["datatype"] = rng.choice(["FP64", "BYTES", "XYZ", "", "INT64", "fp32", 7, None])
    elif kind == 5:
        tensor["data"] = rng.choice([["a"] * 784, [None] * 784, {"x": 1}, "data", [[1.0] * 784, 3], [True] * 784])
    elif kind == 6:
        body = rng.choice([[], {}, {"inputs": {}}, {"inputs": [{}]}, {"inputs": "x"}, 42, None,
                           {"inputs": [tensor, tensor]}, {"inputs": [dict(tensor, name="nope")]},
                           {"inputs": [tensor], "outputs": [{"name": "nope"}]},
                           {"inputs": [tensor], "outputs": "all"}, {"inputs": [tensor], "parameters": []}])
    elif kind == 7:
        return binary_request(rng)
    elif kind == 8:
        model = rng.choice(["nope", "mlp/versions/0", "mlp/versions/-1", "mlp/versions/999999999999999999999",
                            "mlp/versions/unknown-label", "..%2F..%2Fetc", "mlp%00"])
        path = f"/v2/models/{model}/infer"
    elif kind == 9:
        return rng.choice(["GET", "DELETE", "PUT"]), path, b"", {}
    elif kind == 10:
        nested = tensor["data"]
        tensor["data"] = [nested[:392], nested[392:]] if rng.random() < 0.5 else [[[[v]] for v in nested]]
        tensor["shape"] = [1, 784] if rng.random() < 0.5 else [1, 785]
    else:
        depth = rng.randrange(100, 5000)
        return "POST", path, ("[" * depth + "]" * depth).encode(), {}
    return "POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"}


def send(host: str, port: int, method: str, path: str, body: bytes, headers: dict) -> int:
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read()
        # Every error carries {"error": "..."}, except an empty 404/405 from the router for a path or
        # method no endpoint has.
        if response.status >= 400 and not (response.status in (404, 405) and not text):
            try:
                error = json.loads(text)
                if not isinstance(error, dict) or not isinstance(error.get("error"), str):
                    raise ValueError
            except ValueError:
                raise RuntimeError(f"{method} {path}: status {response.status} body is not {{\"error\": ...}}: {text[:120]!r}")
        return response.status
    finally:
        connection.close()


def oversize(host: str, port: int, limit: int) -> int:
    """Declares a body past the limit and sends only a little of it: the server must answer 413 (or
    close) without waiting for, or buffering, the rest."""
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall((f"POST /v2/models/mlp/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {limit * 4}\r\n\r\n").encode() + b"{" * 1024)
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    return 0
                data += chunk
        except (ConnectionResetError, BrokenPipeError):
            return 0
        return int(data.split(b" ")[1])


def rss_kib(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def predict_ok(host: str, port: int) -> None:
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.request("POST", "/v2/models/mlp/infer", body=json.dumps(VALID).encode(),
                       headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    reply = json.loads(response.read())
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"valid request failed: {response.status} {reply}")
    logits = np.asarray(reply["outputs"][0]["data"], dtype=np.float32).reshape(EXPECTED.shape)
    if not np.allclose(logits, EXPECTED, rtol=1e-4, atol=1e-4):
        raise RuntimeError("valid request got a wrong prediction")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server's process id, for its memory")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--body-limit", type=int, default=64 * 1024 * 1024, help="the server's --max-body-bytes")
    parser.add_argument("--max-growth-mib", type=float, default=24.0,
                        help="allowed RSS growth from the first sample after warm-up to the last")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    host, port = args.url.rsplit(":", 1)
    port = int(port)

    statuses: dict = {}
    failures: list = []
    lock = threading.Lock()
    samples: list = []
    counter = iter(range(args.count))

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        while not failures:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            try:
                if index % 500 == 0:
                    predict_ok(host, port)
                    with lock:
                        samples.append((index, rss_kib(args.pid)))
                if index % 200 == 7:
                    status = oversize(host, port, args.body_limit)
                    if status not in (0, 413):
                        raise RuntimeError(f"oversize body: status {status}, expected 413")
                    status = 413
                else:
                    status = send(host, port, *malformed(rng))
                    if status >= 500 and status != 503:
                        raise RuntimeError(f"status {status}")
                    if status == 200:
                        raise RuntimeError("a malformed request succeeded")
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
            except Exception as error:  # noqa: BLE001 - every failure is reported with the request index
                with lock:
                    failures.append(f"request {index}: {error}")

    threads = [threading.Thread(target=worker, args=(args.seed * 1000 + i,)) for i in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        print("http_fuzz: FAIL: " + failures[0], file=sys.stderr)
        sys.exit(1)
    predict_ok(host, port)
    samples.sort()
    samples.append((args.count, rss_kib(args.pid)))
    warm = samples[min(2, len(samples) - 1)][1]
    growth = (samples[-1][1] - warm) / 1024
    print(f"http_fuzz: {args.count} malformed requests, statuses {dict(sorted(statuses.items()))}; server up and "
          f"predicting correctly; RSS {samples[0][1] / 1024:.1f} MiB at start, {warm / 1024:.1f} MiB after warm-up, "
          f"{samples[-1][1] / 1024:.1f} MiB at end (growth {growth:+.1f} MiB, bound {args.max_growth_mib} MiB)")
    if growth > args.max_growth_mib:
        print("http_fuzz: FAIL: memory grew past the bound", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
