"""Sends malformed Open Inference Protocol requests to a `kiln serve` on loopback and checks that it
answers every one with a JSON error (never a 5xx other than 503/504, never a dropped connection),
stays live, and keeps its memory flat.

    python3 Scripts/python/http_fuzz.py --port 8080 --requests 10000 [--pid PID]

Standard library only. The server must serve the `mlp` fixture as model `mlp`. Exits non-zero on
any failure. Only ever connects to 127.0.0.1.
"""
import argparse
import http.client
import json
import random
import sys


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def valid_request():
    return {"inputs": [{"name": "x", "shape": [1, 784], "datatype": "FP32", "data": [0.5] * 784}]}


def mutate(rng):
    """One malformed (or occasionally valid) request: (path, body bytes, headers)."""
    request = valid_request()
    headers = {"Content-Type": "application/json"}
    kind = rng.randrange(12)
    if kind == 0:  # truncated JSON
        body = json.dumps(request).encode()
        return body[: rng.randrange(len(body))], headers
    if kind == 1:  # data shorter than the shape
        request["inputs"][0]["data"] = request["inputs"][0]["data"][: rng.randrange(784)]
    elif kind == 2:  # hostile shapes: negative, overflowing, huge
        request["inputs"][0]["shape"] = [rng.choice([-1, 0, 1, 2**31, 2**62, 2**63 - 1]) for _ in range(rng.randrange(1, 6))]
    elif kind == 3:  # wrong or unsupported datatypes
        request["inputs"][0]["datatype"] = rng.choice(["FP64", "BYTES", "INT8", "BOOL", "UINT8", "", "fp32", 5])
    elif kind == 4:  # binary payloads: truncated, too long, bad header lengths
        header = json.dumps({"inputs": [{"name": "x", "shape": [1, 784], "datatype": "FP32",
                                         "parameters": {"binary_data_size": 3136}}]}).encode()
        body = header + bytes(rng.randrange(4000))
        length = rng.choice([len(header), len(header) + 1, -1, 10**12, len(body) + 5, "x"])
        return body, {"Inference-Header-Content-Length": str(length)}
    elif kind == 5:  # random bytes
        return bytes(rng.getrandbits(8) for _ in range(rng.randrange(200))), headers
    elif kind == 6:  # nested data of the wrong size
        request["inputs"][0]["data"] = [[0.1] * 784] * rng.randrange(3)
    elif kind == 7:  # unknown or duplicate requested outputs
        request["outputs"] = [{"name": rng.choice(["logits", "nope", 3])}] * rng.randrange(3)
    elif kind == 8:  # bad timeouts
        request["parameters"] = {"timeout": rng.choice([0, -5, 1, "x", 1e30, 10**6])}
    elif kind == 9:  # values of the wrong kind
        request["inputs"][0]["data"] = [rng.choice([True, None, "a", 1e39, {}, []]) for _ in range(784)]
    elif kind == 10:  # duplicate inputs
        request["inputs"] = request["inputs"] * rng.randrange(4)
    elif kind == 11:  # deep nesting
        depth = rng.randrange(1, 5000)
        return ("[" * depth + "]" * rng.randrange(depth + 1)).encode(), headers
    return json.dumps(request).encode(), headers


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--pid", type=int, help="the server's pid, to report its memory")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    paths = ["/v2/models/mlp/infer"] * 8 + ["/v2/models/mlp/versions/1/infer", "/v2/models/zz/infer",
                                            "/v2/models/mlp/versions/99999999999999999999/infer"]
    failures = []
    statuses = {}
    before = rss_kib(args.pid) if args.pid else None
    connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
    for index in range(args.requests):
        path = rng.choice(paths)
        body, headers = mutate(rng)
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            failures.append(f"request {index}: connection failed: {error}")
            connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
            continue
        statuses[response.status] = statuses.get(response.status, 0) + 1
        if response.status >= 500 and response.status not in (503, 504):
            failures.append(f"request {index}: {response.status} {data[:200]!r}")
        if response.status != 200:
            try:
                if not isinstance(json.loads(data).get("error"), str):
                    raise ValueError("no error string")
            except ValueError:
                failures.append(f"request {index}: {response.status} without a JSON error: {data[:200]!r}")
    connection.request("GET", "/v2/health/live")
    live = connection.getresponse()
    live.read()
    if live.status != 200:
        failures.append(f"server not live after the run: {live.status}")
    print("statuses:", dict(sorted(statuses.items())))
    if before is not None:
        after = rss_kib(args.pid)
        print(f"server RSS: {before} KiB before, {after} KiB after")
    for failure in failures[:20]:
        print("FAIL", failure)
    print(f"{args.requests - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
