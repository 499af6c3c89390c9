"""Drives a running `kiln serve` with NVIDIA's tritonclient (HTTP, Open Inference Protocol) and checks
every prediction against the fixtures' expected outputs, which ONNX Runtime produced
(Scripts/python/make_fixtures.py), in JSON and in binary tensor mode.

    .venv-http/bin/python Scripts/python/http_client_check.py --url 127.0.0.1:8080

The repository behind the server is the default one (Scripts/default-repository.sh): every model at
version 1, labelled `stable`. Exits non-zero on the first mismatch, with what was wrong.
"""
import argparse
import pathlib
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATATYPES = {np.dtype("float32"): "FP32", np.dtype("int64"): "INT64"}

# repository model -> (fixture folder, [(inputs folder, expected folder)])
CASES = {
    "mlp": ("mlp", [("inputs", "expected"), ("inputs_b1", "expected_b1")]),
    "cnn": ("cnn", [("inputs", "expected"), ("inputs_b1", "expected_b1")]),
    "encoder": ("encoder", [("inputs", "expected"), ("inputs_b1", "expected_b1")]),
    "resnet-mini": ("zoo-resnet-mini", [("inputs", "expected"), ("inputs_b4", "expected_b4")]),
    "minilm-mini": ("zoo-minilm-mini", [("inputs", "expected"), ("inputs_b4_seq7", "expected_b4_seq7")]),
}


def arrays(folder: pathlib.Path) -> dict:
    return {path.stem: np.load(path) for path in sorted(folder.glob("*.npy"))}


def fail(message: str) -> None:
    print(f"http_client_check: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def check_infer(client, model: str, version: str, feeds: dict, expected: dict, binary: bool, label: str) -> None:
    inputs = []
    for name, array in feeds.items():
        tensor = httpclient.InferInput(name, list(array.shape), DATATYPES[array.dtype])
        tensor.set_data_from_numpy(array, binary_data=binary)
        inputs.append(tensor)
    outputs = [httpclient.InferRequestedOutput(name, binary_data=binary) for name in expected]
    request_id = f"{model}-{label}"
    result = client.infer(model, inputs, model_version=version, outputs=outputs, request_id=request_id)
    response = result.get_response()
    if response.get("id") != request_id:
        fail(f"{model} {label}: request id not echoed (got {response.get('id')!r})")
    if response.get("model_name") != model:
        fail(f"{model} {label}: model_name {response.get('model_name')!r}")
    for name, want in expected.items():
        got = result.as_numpy(name)
        if got is None:
            fail(f"{model} {label}: output {name} missing")
        if got.shape != want.shape or got.dtype != want.dtype:
            fail(f"{model} {label}: output {name} is {got.dtype}{got.shape}, expected {want.dtype}{want.shape}")
        if not np.allclose(got, want, rtol=1e-4, atol=1e-4):
            fail(f"{model} {label}: output {name} max abs error {np.max(np.abs(got - want)):.3g}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="host:port of kiln serve")
    args = parser.parse_args()
    client = httpclient.InferenceServerClient(url=args.url)

    if not client.is_server_live() or not client.is_server_ready():
        fail("server not live and ready")
    metadata = client.get_server_metadata()
    if "binary_tensor_data" not in metadata.get("extensions", []):
        fail(f"server metadata lists no binary_tensor_data extension: {metadata}")

    checked = 0
    for model, (fixture, pairs) in CASES.items():
        if not client.is_model_ready(model):
            fail(f"model {model} not ready")
        described = client.get_model_metadata(model)
        for pair in pairs:
            feeds = arrays(ROOT / "Fixtures" / fixture / pair[0])
            expected = arrays(ROOT / "Fixtures" / fixture / pair[1])
            declared = {tensor["name"]: tensor for tensor in described["inputs"]}
            for name, array in feeds.items():
                if name not in declared:
                    fail(f"{model}: metadata has no input {name}: {described}")
                if declared[name]["datatype"] != DATATYPES[array.dtype]:
                    fail(f"{model}: input {name} datatype {declared[name]['datatype']}")
                if len(declared[name]["shape"]) != array.ndim:
                    fail(f"{model}: input {name} rank {declared[name]['shape']}")
            for version in ["", "1", "stable"]:
                for binary in [False, True]:
                    label = f"{pair[0]}-v{version or 'default'}-{'binary' if binary else 'json'}"
                    check_infer(client, model, version, feeds, expected, binary, label)
                    checked += 1

    # Errors reach tritonclient as exceptions carrying the status the server sent.
    feeds = arrays(ROOT / "Fixtures" / "mlp" / "inputs_b1")
    for model, version, want in [("no-such-model", "", "404"), ("mlp", "99", "404")]:
        tensor = httpclient.InferInput("x", list(feeds["x"].shape), "FP32")
        tensor.set_data_from_numpy(feeds["x"], binary_data=False)
        try:
            client.infer(model, [tensor], model_version=version)
            fail(f"{model} version {version!r}: expected an error")
        except InferenceServerException as error:
            if str(error.status()) != want:
                fail(f"{model} version {version!r}: status {error.status()}, expected {want} ({error})")
    wrong = httpclient.InferInput("x", [1, 783], "FP32")
    wrong.set_data_from_numpy(np.zeros((1, 783), np.float32), binary_data=True)
    try:
        client.infer("mlp", [wrong])
        fail("wrong shape: expected an error")
    except InferenceServerException as error:
        if str(error.status()) != "400":
            fail(f"wrong shape: status {error.status()} ({error})")

    print(f"http_client_check: {checked} tritonclient predictions match ONNX Runtime's outputs "
          f"(JSON and binary, default/numbered/labelled versions); error statuses as expected")


if __name__ == "__main__":
    main()
