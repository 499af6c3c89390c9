"""Writes the example Open Inference Protocol requests in Examples/requests/ from the fixtures' inputs:
MODEL.json (JSON tensors) and MODEL.binary-N.bin (binary tensor data extension, N = the length of its
JSON header, which goes in the Inference-Header-Content-Length header).

The README's curl line posts Examples/requests/mlp.json; the HTTP integration test posts it too and
checks the answer against Fixtures/mlp/expected_b1/logits.npy (ONNX Runtime's output).

    .venv/bin/python Scripts/python/make_requests.py
"""
import json
import pathlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATATYPES = {np.dtype("float32"): "FP32", np.dtype("int64"): "INT64"}


def request(folder: pathlib.Path, request_id: str) -> dict:
    inputs = []
    for path in sorted(folder.glob("*.npy")):
        array = np.load(path)
        inputs.append({
            "name": path.stem,
            "datatype": DATATYPES[array.dtype],
            "shape": list(array.shape),
            # str(float32) is the shortest decimal that reads back as the same float32; as a Python float
            # it keeps that short form in the JSON.
            "data": [float(str(v)) if array.dtype == np.float32 else int(v) for v in array.ravel()],
        })
    return {"id": request_id, "inputs": inputs}


def binary_request(folder: pathlib.Path, request_id: str) -> tuple:
    """The same request with the binary tensor data extension: a JSON header, then the raw tensors.
    Returns the body and the length of its JSON header (the Inference-Header-Content-Length)."""
    inputs, payload = [], b""
    for path in sorted(folder.glob("*.npy")):
        array = np.load(path)
        raw = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        inputs.append({"name": path.stem, "datatype": DATATYPES[array.dtype], "shape": list(array.shape),
                       "parameters": {"binary_data_size": len(raw)}})
        payload += raw
    header = json.dumps({"id": request_id, "inputs": inputs, "parameters": {"binary_data_output": True}},
                        separators=(",", ":")).encode()
    return header + payload, len(header)


def main() -> None:
    out = ROOT / "Examples" / "requests"
    out.mkdir(parents=True, exist_ok=True)
    for model, fixture in [("mlp", "mlp"), ("cnn", "cnn"), ("minilm-mini", "zoo-minilm-mini")]:
        folder = ROOT / "Fixtures" / fixture / ("inputs_b1" if (ROOT / "Fixtures" / fixture / "inputs_b1").exists() else "inputs")
        body = request(folder, f"{model}-example")
        (out / f"{model}.json").write_text(json.dumps(body, separators=(",", ":")) + "\n")
        print(f"wrote {out / (model + '.json')}")
        body, header_length = binary_request(folder, f"{model}-example")
        # The header length is part of the name: wrk and curl must send it as Inference-Header-Content-Length.
        for old in out.glob(f"{model}.binary-*.bin"):
            old.unlink()
        (out / f"{model}.binary-{header_length}.bin").write_bytes(body)


if __name__ == "__main__":
    main()
