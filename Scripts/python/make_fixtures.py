#!/usr/bin/env python3
"""Builds Kiln's reference fixtures: small ONNX models plus inputs and expected outputs.

Each fixture is written as

    Fixtures/<name>/model.onnx
    Fixtures/<name>/inputs/<input>.npy        Fixtures/<name>/expected/<output>.npy
    Fixtures/<name>/inputs_b1/<input>.npy     Fixtures/<name>/expected_b1/<output>.npy
    Fixtures/<name>/README.md

The models are assembled node by node with onnx.helper (opset 17) from weights drawn with a fixed
seed, so the files are byte-for-byte reproducible. Expected outputs come from ONNX Runtime (CPU, one
thread, graph optimizations off so every node runs as written). They are then checked against a
separate float64 numpy implementation of the same network that never looks at the ONNX graph, and
against ONNX Runtime with all graph optimizations on. Neither check involves Kiln, so a fixture that
Kiln disagrees with points at Kiln.

Usage:
    PY=$(bash Scripts/python-env.sh)
    $PY Scripts/python/make_fixtures.py                 # all fixtures into Fixtures/
    $PY Scripts/python/make_fixtures.py --only encoder  # one fixture
    $PY Scripts/python/make_fixtures.py --out /tmp/fx   # somewhere else
    $PY Scripts/python/make_fixtures.py --check         # exit 1 if Fixtures/ differs from a fresh build
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
# IR version 8 is the one that goes with opset 17; readers that only know older IR versions still load it.
IR_VERSION = 8
PRODUCER = "kiln-make_fixtures"

# Operators Kiln implements first; a fixture that needs anything else is a bug in this script.
ALLOWED_OPS = frozenset(
    """Add Sub Mul Div Pow Sqrt Exp Log Neg Abs Relu Sigmoid Tanh Erf Clip Where Equal Cast MatMul Gemm
    Conv MaxPool AveragePool GlobalAveragePool BatchNormalization Softmax LayerNormalization ReduceMean
    ReduceSum Reshape Flatten Transpose Squeeze Unsqueeze Concat Slice Gather Shape Expand Constant
    Identity""".split()
)

# ONNX Runtime (float32) and the float64 numpy reference must agree to this, elementwise:
# |ort - numpy| <= CROSS_CHECK_TOL * (1 + |numpy|).
CROSS_CHECK_TOL = 1e-5

MAX_FIXTURE_BYTES = 2 * 1024 * 1024

REPO_ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------------------------
# Graph building


class GraphBuilder:
    """Collects nodes and initializers, naming them the way PyTorch's exporter does (/scope/Op)."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._used_names: Counter[str] = Counter()

    def _unique(self, base: str) -> str:
        self._used_names[base] += 1
        count = self._used_names[base]
        return base if count == 1 else f"{base}_{count - 1}"

    def initializer(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def constant(self, scope: str, array: np.ndarray) -> str:
        """A Constant node, as PyTorch emits for literals and shape pieces (not an initializer)."""
        node_name = self._unique(f"{scope}/Constant")
        output = f"{node_name}_output_0"
        tensor = numpy_helper.from_array(np.asarray(array), f"{node_name}_value")
        self.nodes.append(helper.make_node("Constant", [], [output], name=node_name, value=tensor))
        return output

    def op(self, op_type: str, inputs: list[str], scope: str, output: str | None = None, **attributes) -> str:
        node_name = self._unique(f"{scope}/{op_type}")
        output = output or f"{node_name}_output_0"
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=node_name, **attributes))
        return output

    def model(self, graph_name: str, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto],
              doc: str) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, graph_name, inputs, outputs, self.initializers, doc_string=doc)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name=PRODUCER, producer_version="1")
        model.ir_version = IR_VERSION
        return model


# ----------------------------------------------------------------------------------------------
# Independent numpy reference (float64). These functions work from the weight arrays directly and
# never read the ONNX graph, so a mistake in how a graph is wired shows up as a disagreement.


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: int, pad: int,
           groups: int) -> np.ndarray:
    batch, channels, height, width = x.shape
    out_channels, channels_per_group, kernel_h, kernel_w = weight.shape
    assert channels == channels_per_group * groups and out_channels % groups == 0
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out_h = (height + 2 * pad - kernel_h) // stride + 1
    out_w = (width + 2 * pad - kernel_w) // stride + 1
    out = np.zeros((batch, out_channels, out_h, out_w))
    outs_per_group = out_channels // groups
    for group in range(groups):
        x_group = padded[:, group * channels_per_group:(group + 1) * channels_per_group]
        out_slice = slice(group * outs_per_group, (group + 1) * outs_per_group)
        for i in range(kernel_h):
            for j in range(kernel_w):
                patch = x_group[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride]
                out[:, out_slice] += np.einsum("nchw,mc->nmhw", patch, weight[out_slice, :, i, j])
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out


def batch_norm(x: np.ndarray, scale, bias, mean, var, epsilon: float) -> np.ndarray:
    shape = (1, -1, 1, 1)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + epsilon) * scale.reshape(shape) + bias.reshape(shape)


def pool2x2(x: np.ndarray, reduce: Callable) -> np.ndarray:
    batch, channels, height, width = x.shape
    return reduce(x.reshape(batch, channels, height // 2, 2, width // 2, 2), axis=(3, 5))


def layer_norm(x: np.ndarray, scale, bias, epsilon: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + epsilon) * scale + bias


def softmax(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu_erf(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def as64(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: value.astype(np.float64) for name, value in weights.items()}


# ----------------------------------------------------------------------------------------------
# Fixtures


@dataclass
class Fixture:
    name: str
    model: onnx.ModelProto
    reference: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
    # Data set folder suffix ("" -> inputs/, "_b1" -> inputs_b1/) -> input name -> array.
    input_sets: dict[str, dict[str, np.ndarray]]
    summary: str
    tolerance: tuple[float, float]  # (rtol, atol) recommended for Kiln vs expected
    data_description: str
    notes: list[str] = field(default_factory=list)
    # Extra property checks on the built model, run through an ONNX Runtime session; raise on failure.
    sanity: Callable[[ort.InferenceSession], None] | None = None


def he_normal(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    """Weights that keep activations near unit scale through Relu layers, so outputs are O(1)."""
    return (rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(np.float32)


def small(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 0.1) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def make_mlp() -> Fixture:
    rng = np.random.default_rng(1001)
    w = {
        "fc1.weight": he_normal(rng, (128, 784), 784),  # Gemm, transB=1 (PyTorch Linear layout)
        "fc1.bias": small(rng, (128,)),
        "fc2.weight_t": he_normal(rng, (128, 64), 128),  # MatMul + Add: weight stored [in, out]
        "fc2.bias": small(rng, (64,)),
        "fc3.weight": he_normal(rng, (10, 64), 64),  # Gemm, transB=1
        "fc3.bias": small(rng, (10,)),
    }
    b = GraphBuilder()
    for name, value in w.items():
        b.initializer(name, value)
    h = b.op("Gemm", ["x", "fc1.weight", "fc1.bias"], "/fc1", alpha=1.0, beta=1.0, transB=1)
    h = b.op("Relu", [h], "/relu1")
    h = b.op("MatMul", [h, "fc2.weight_t"], "/fc2")
    h = b.op("Add", [h, "fc2.bias"], "/fc2")
    h = b.op("Relu", [h], "/relu2")
    b.op("Gemm", [h, "fc3.weight", "fc3.bias"], "/fc3", output="logits", transB=1)
    model = b.model(
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 784])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        "MLP 784-128-64-10 with Relu; fc2 is MatMul+Add, fc1/fc3 are Gemm(transB=1).",
    )

    def reference(inputs):
        p = as64(w)
        x = inputs["x"].astype(np.float64)
        h = relu(x @ p["fc1.weight"].T + p["fc1.bias"])
        h = relu(h @ p["fc2.weight_t"] + p["fc2.bias"])
        return {"logits": h @ p["fc3.weight"].T + p["fc3.bias"]}

    data = np.random.default_rng(2001)
    return Fixture(
        name="mlp",
        model=model,
        reference=reference,
        input_sets={
            "": {"x": data.standard_normal((4, 784)).astype(np.float32)},
            "_b1": {"x": data.standard_normal((1, 784)).astype(np.float32)},
        },
        summary=(
            "A 3-layer perceptron: `Gemm 784→128 (transB=1) → Relu → MatMul 128→64 + Add → Relu → "
            "Gemm 64→10 (transB=1)`. Both ways PyTorch exports a Linear layer (Gemm, and MatMul with a "
            "pre-transposed [in, out] weight followed by Add) are exercised. The batch dimension is "
            "symbolic (`batch`)."
        ),
        tolerance=(1e-4, 1e-5),
        data_description="Inputs are standard-normal float32.",
    )


def make_cnn() -> Fixture:
    rng = np.random.default_rng(1002)

    def bn_params(prefix: str, channels: int) -> dict[str, np.ndarray]:
        return {
            f"{prefix}.weight": (1.0 + 0.2 * rng.standard_normal(channels)).astype(np.float32),
            f"{prefix}.bias": small(rng, (channels,)),
            f"{prefix}.running_mean": small(rng, (channels,), 0.2),
            f"{prefix}.running_var": rng.uniform(0.5, 1.5, channels).astype(np.float32),
        }

    w: dict[str, np.ndarray] = {}
    w["stem.conv.weight"] = he_normal(rng, (16, 3, 3, 3), 27)  # no bias: BN follows (as in PyTorch)
    w.update(bn_params("stem.bn", 16))
    w["block.conv1.weight"] = he_normal(rng, (16, 16, 3, 3), 144)
    w.update(bn_params("block.bn1", 16))
    w["block.conv2.weight"] = he_normal(rng, (16, 16, 3, 3), 144)
    w.update(bn_params("block.bn2", 16))
    w["dw.weight"] = he_normal(rng, (16, 1, 3, 3), 9)
    w["dw.bias"] = small(rng, (16,))
    w["down.weight"] = he_normal(rng, (32, 16, 3, 3), 144)
    w["down.bias"] = small(rng, (32,))
    w["fc.weight"] = he_normal(rng, (10, 32), 32)
    w["fc.bias"] = small(rng, (10,))
    bn_epsilon = 1e-5

    b = GraphBuilder()
    for name, value in w.items():
        b.initializer(name, value)

    def conv(x, scope, weight, bias=None, stride=1, group=1):
        inputs = [x, weight] + ([bias] if bias else [])
        return b.op("Conv", inputs, scope, dilations=[1, 1], group=group, kernel_shape=[3, 3],
                    pads=[1, 1, 1, 1], strides=[stride, stride])

    def bn(x, scope, prefix):
        return b.op("BatchNormalization",
                    [x, f"{prefix}.weight", f"{prefix}.bias", f"{prefix}.running_mean", f"{prefix}.running_var"],
                    scope, epsilon=bn_epsilon, momentum=0.9)

    h = conv("image", "/stem/conv", "stem.conv.weight")
    h = bn(h, "/stem/bn", "stem.bn")
    h = b.op("Relu", [h], "/stem/relu")
    block_input = h
    h = conv(h, "/block/conv1", "block.conv1.weight")
    h = bn(h, "/block/bn1", "block.bn1")
    h = b.op("Relu", [h], "/block/relu1")
    h = conv(h, "/block/conv2", "block.conv2.weight")
    h = bn(h, "/block/bn2", "block.bn2")
    h = b.op("Add", [h, block_input], "/block")
    h = b.op("Relu", [h], "/block/relu2")
    h = b.op("MaxPool", [h], "/pool1", kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0])
    h = conv(h, "/dw/conv", "dw.weight", "dw.bias", group=16)
    h = b.op("Relu", [h], "/dw/relu")
    h = conv(h, "/down/conv", "down.weight", "down.bias", stride=2)
    h = b.op("Relu", [h], "/down/relu")
    h = b.op("AveragePool", [h], "/pool2", kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0])
    h = b.op("GlobalAveragePool", [h], "/gap")
    h = b.op("Flatten", [h], "/flatten", axis=1)
    b.op("Gemm", [h, "fc.weight", "fc.bias"], "/fc", output="logits", alpha=1.0, beta=1.0, transB=1)
    model = b.model(
        "cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        "Small CNN: stem conv+BN+Relu, residual block, MaxPool, depthwise conv, strided conv, AveragePool, "
        "GlobalAveragePool, Flatten, Gemm.",
    )

    def reference(inputs):
        p = as64(w)
        x = inputs["image"].astype(np.float64)

        def bn_ref(t, prefix):
            return batch_norm(t, p[f"{prefix}.weight"], p[f"{prefix}.bias"], p[f"{prefix}.running_mean"],
                              p[f"{prefix}.running_var"], bn_epsilon)

        h = relu(bn_ref(conv2d(x, p["stem.conv.weight"], None, 1, 1, 1), "stem.bn"))
        r = relu(bn_ref(conv2d(h, p["block.conv1.weight"], None, 1, 1, 1), "block.bn1"))
        r = bn_ref(conv2d(r, p["block.conv2.weight"], None, 1, 1, 1), "block.bn2")
        h = relu(r + h)
        h = pool2x2(h, np.max)
        h = relu(conv2d(h, p["dw.weight"], p["dw.bias"], 1, 1, 16))
        h = relu(conv2d(h, p["down.weight"], p["down.bias"], 2, 1, 1))
        h = pool2x2(h, np.mean)
        h = h.mean(axis=(2, 3))
        return {"logits": h @ p["fc.weight"].T + p["fc.bias"]}

    data = np.random.default_rng(2002)
    return Fixture(
        name="cnn",
        model=model,
        reference=reference,
        input_sets={
            # Different brightness/contrast per image so the logits rows differ clearly (a kernel that
            # mixes up batch items then fails by far more than the tolerance).
            "": {"image": (data.standard_normal((2, 3, 32, 32)) * np.array([1.0, 1.6]).reshape(2, 1, 1, 1)
                           + np.array([0.0, 0.4]).reshape(2, 1, 1, 1)).astype(np.float32)},
            "_b1": {"image": (data.standard_normal((1, 3, 32, 32)) * 1.3 - 0.2).astype(np.float32)},
        },
        summary=(
            "A small ResNet/MobileNet-flavoured CNN on 32×32 RGB images:\n\n"
            "| stage | ops | output shape |\n|---|---|---|\n"
            "| stem | Conv 3→16 k3 p1 (no bias) → BatchNormalization → Relu | [N,16,32,32] |\n"
            "| residual block | Conv 16→16 k3 p1 → BN → Relu → Conv 16→16 k3 p1 → BN → Add(block input) → Relu | [N,16,32,32] |\n"
            "| pool1 | MaxPool k2 s2 | [N,16,16,16] |\n"
            "| depthwise | Conv group=16 k3 p1 (+bias) → Relu | [N,16,16,16] |\n"
            "| downsample | Conv 16→32 k3 s2 p1 (+bias) → Relu | [N,32,8,8] |\n"
            "| pool2 | AveragePool k2 s2 | [N,32,4,4] |\n"
            "| head | GlobalAveragePool → Flatten → Gemm 32→10 (transB=1) | [N,10] |\n\n"
            "BatchNormalization is left unfolded (inference mode, epsilon 1e-5) with non-trivial running "
            "statistics. The stem and block convolutions have no bias input (as PyTorch exports a conv "
            "followed by BN); the depthwise and strided ones do."
        ),
        tolerance=(1e-4, 1e-5),
        data_description=("Inputs are normal float32 with a different scale and offset per image "
                          "(N(0,1) and N(0.4,1.6²) in `inputs/`, N(-0.2,1.3²) in `inputs_b1/`) so the "
                          "logits of the two batch items differ clearly."),
    )


def make_encoder() -> Fixture:
    rng = np.random.default_rng(1003)
    d_model, heads, head_size, d_ff = 64, 4, 16, 256
    ln_epsilon = 1e-12  # BERT's
    mask_fill = float(np.finfo(np.float32).min)  # what current Hugging Face BERT exports use

    def linear(prefix: str, fan_in: int, fan_out: int) -> dict[str, np.ndarray]:
        # Stored [in, out]: PyTorch exports a Linear on a 3-D input as MatMul with the transposed weight.
        return {f"{prefix}.weight_t": (rng.standard_normal((fan_in, fan_out)) / math.sqrt(fan_in)).astype(np.float32),
                f"{prefix}.bias": small(rng, (fan_out,))}

    def ln_params(prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}.weight": (1.0 + 0.1 * rng.standard_normal(d_model)).astype(np.float32),
                f"{prefix}.bias": small(rng, (d_model,))}

    w: dict[str, np.ndarray] = {}
    for name in ("query", "key", "value"):
        w.update(linear(f"attention.{name}", d_model, d_model))
    w.update(linear("attention.output", d_model, d_model))
    w.update(ln_params("attention.layer_norm"))
    w.update(linear("ffn.intermediate", d_model, d_ff))
    w.update(linear("ffn.output", d_ff, d_model))
    w.update(ln_params("ffn.layer_norm"))

    b = GraphBuilder()
    for name, value in w.items():
        b.initializer(name, value)

    def linear_op(x, scope, prefix):
        return b.op("Add", [b.op("MatMul", [x, f"{prefix}.weight_t"], scope), f"{prefix}.bias"], scope)

    def dim(x, index, scope):
        """x.size(index) as a 1-element int64 tensor: Shape → Gather(scalar) → Unsqueeze, like PyTorch."""
        shape = b.op("Shape", [x], scope)
        scalar = b.op("Gather", [shape, b.constant(scope, np.array(index, dtype=np.int64))], scope, axis=0)
        return b.op("Unsqueeze", [scalar, b.constant(scope, np.array([0], dtype=np.int64))], scope)

    def split_heads(x, scope):
        """[batch, seq, 64] → [batch, seq, 4, 16] with a shape computed at run time from x."""
        new_shape = b.op("Concat", [dim(x, 0, scope), dim(x, 1, scope),
                                    b.constant(scope, np.array([heads], dtype=np.int64)),
                                    b.constant(scope, np.array([head_size], dtype=np.int64))], scope, axis=0)
        return b.op("Reshape", [x, new_shape], scope)

    # Extended attention mask: [batch, seq] int64 → [batch, 1, 1, seq] float, 0 keep / finfo.min pad.
    m = b.op("Unsqueeze", ["mask", b.constant("/mask", np.array([1], dtype=np.int64))], "/mask")
    m = b.op("Unsqueeze", [m, b.constant("/mask", np.array([2], dtype=np.int64))], "/mask")
    m = b.op("Cast", [m], "/mask", to=TensorProto.FLOAT)
    m = b.op("Sub", [b.constant("/mask", np.array(1.0, dtype=np.float32)), m], "/mask")
    additive_mask = b.op("Mul", [m, b.constant("/mask", np.array(mask_fill, dtype=np.float32))], "/mask")

    q = split_heads(linear_op("hidden", "/attention/query", "attention.query"), "/attention/query")
    k = split_heads(linear_op("hidden", "/attention/key", "attention.key"), "/attention/key")
    v = split_heads(linear_op("hidden", "/attention/value", "attention.value"), "/attention/value")
    q = b.op("Transpose", [q], "/attention/query", perm=[0, 2, 1, 3])  # [b, h, s, d]
    k = b.op("Transpose", [k], "/attention/key", perm=[0, 2, 1, 3])
    k = b.op("Transpose", [k], "/attention/key", perm=[0, 1, 3, 2])  # key.transpose(-1, -2): [b, h, d, s]
    v = b.op("Transpose", [v], "/attention/value", perm=[0, 2, 1, 3])
    scores = b.op("MatMul", [q, k], "/attention")
    scores = b.op("Div", [scores, b.constant("/attention", np.array(math.sqrt(head_size), dtype=np.float32))],
                  "/attention")
    scores = b.op("Add", [scores, additive_mask], "/attention")
    probs = b.op("Softmax", [scores], "/attention", axis=-1)
    context = b.op("MatMul", [probs, v], "/attention")  # [b, h, s, d]
    context = b.op("Transpose", [context], "/attention", perm=[0, 2, 1, 3])  # [b, s, h, d]
    merged_shape = b.op("Concat", [dim(context, 0, "/attention/merge"), dim(context, 1, "/attention/merge"),
                                   b.constant("/attention/merge", np.array([d_model], dtype=np.int64))],
                        "/attention/merge", axis=0)
    context = b.op("Reshape", [context, merged_shape], "/attention/merge")
    attention_out = linear_op(context, "/attention/output", "attention.output")
    h = b.op("Add", [attention_out, "hidden"], "/attention/output")
    h = b.op("LayerNormalization", [h, "attention.layer_norm.weight", "attention.layer_norm.bias"],
             "/attention/layer_norm", axis=-1, epsilon=ln_epsilon)

    # x * 0.5 * (1 + erf(x / sqrt(2))), in the order PyTorch evaluates (and exports) it.
    f = linear_op(h, "/ffn/intermediate", "ffn.intermediate")
    half_f = b.op("Mul", [f, b.constant("/ffn/gelu", np.array(0.5, dtype=np.float32))], "/ffn/gelu")
    e = b.op("Div", [f, b.constant("/ffn/gelu", np.array(math.sqrt(2.0), dtype=np.float32))], "/ffn/gelu")
    e = b.op("Erf", [e], "/ffn/gelu")
    e = b.op("Add", [e, b.constant("/ffn/gelu", np.array(1.0, dtype=np.float32))], "/ffn/gelu")
    f = b.op("Mul", [half_f, e], "/ffn/gelu")
    f = linear_op(f, "/ffn/output", "ffn.output")
    f = b.op("Add", [f, h], "/ffn/output")
    b.op("LayerNormalization", [f, "ffn.layer_norm.weight", "ffn.layer_norm.bias"], "/ffn/layer_norm",
         output="output", axis=-1, epsilon=ln_epsilon)

    model = b.model(
        "encoder",
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "seq", d_model]),
         helper.make_tensor_value_info("mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", "seq", d_model])],
        "One BERT-style post-LN transformer encoder layer, d_model 64, 4 heads of 16, FFN 256, erf Gelu.",
    )

    def reference(inputs):
        p = as64(w)
        x = inputs["hidden"].astype(np.float64)
        batch, seq, _ = x.shape
        keep = inputs["mask"].astype(np.float64)
        additive = ((1.0 - keep) * mask_fill)[:, None, None, :]

        def lin(t, prefix):
            return t @ p[f"{prefix}.weight_t"] + p[f"{prefix}.bias"]

        def heads_of(t):
            return t.reshape(batch, seq, heads, head_size).transpose(0, 2, 1, 3)

        q_, k_, v_ = (heads_of(lin(x, f"attention.{n}")) for n in ("query", "key", "value"))
        attn = softmax(q_ @ k_.transpose(0, 1, 3, 2) / math.sqrt(head_size) + additive)
        ctx = (attn @ v_).transpose(0, 2, 1, 3).reshape(batch, seq, d_model)
        h = layer_norm(lin(ctx, "attention.output") + x, p["attention.layer_norm.weight"],
                       p["attention.layer_norm.bias"], ln_epsilon)
        f = lin(gelu_erf(lin(h, "ffn.intermediate")), "ffn.output")
        return {"output": layer_norm(f + h, p["ffn.layer_norm.weight"], p["ffn.layer_norm.bias"], ln_epsilon)}

    def padding_is_ignored(session: ort.InferenceSession) -> None:
        """Changing hidden states at padded positions must not change outputs at real positions."""
        hidden = np.random.default_rng(7).standard_normal((2, 7, d_model)).astype(np.float32)
        mask = np.ones((2, 7), dtype=np.int64)
        mask[1, 4:] = 0
        perturbed = hidden.copy()
        perturbed[1, 4:] += 5.0
        before = session.run(["output"], {"hidden": hidden, "mask": mask})[0]
        after = session.run(["output"], {"hidden": perturbed, "mask": mask})[0]
        if not np.allclose(before[:, :4], after[:, :4], rtol=0, atol=1e-6) or np.allclose(before[1, 4:], after[1, 4:]):
            raise SystemExit("encoder: the attention mask does not hide padded positions")

    data = np.random.default_rng(2003)
    mask_b2 = np.ones((2, 7), dtype=np.int64)
    mask_b2[1, 4:] = 0  # second sequence has 4 real tokens and 3 padding positions
    return Fixture(
        name="encoder",
        model=model,
        reference=reference,
        input_sets={
            "": {"hidden": data.standard_normal((2, 7, d_model)).astype(np.float32), "mask": mask_b2},
            "_b1": {"hidden": data.standard_normal((1, 5, d_model)).astype(np.float32),
                    "mask": np.ones((1, 5), dtype=np.int64)},
        },
        summary=(
            "One BERT-style (post-LayerNorm) transformer encoder layer, wired the way PyTorch's exporter "
            "emits a Hugging Face `BertLayer`: d_model 64, 4 heads of size 16, FFN 64→256→64.\n\n"
            "- Q/K/V: `MatMul` with [in, out] weights + `Add` bias, then `Reshape` to [batch, seq, 4, 16] "
            "with a target shape computed at run time: `Shape → Gather(0|1) → Unsqueeze → Concat` with "
            "constant `[4]`, `[16]` (so symbolic batch and seq must flow through Shape arithmetic).\n"
            "- `Transpose [0,2,1,3]`; keys get a second `Transpose [0,1,3,2]`; `MatMul` QKᵀ; `Div` by 4 (√16).\n"
            "- Additive mask from the int64 `mask` input: `Unsqueeze(1) → Unsqueeze(2) → Cast(float) → "
            "Sub(1 - m) → Mul(float32 min)` (Hugging Face's `finfo.min` style), added to the scores; padded "
            "keys get ~-3.4e38, not -inf, so no NaN appears.\n"
            "- `Softmax(axis=-1)`, `MatMul` V, `Transpose`, `Reshape` back to [batch, seq, 64] (again via "
            "Shape/Gather/Unsqueeze/Concat), output projection, residual `Add`, `LayerNormalization` "
            "(epsilon 1e-12).\n"
            "- FFN: `MatMul+Add` 64→256, Gelu as `x*0.5 * (1 + Erf(x / √2))` (Mul, Div, Erf, Add, Mul), "
            "`MatMul+Add` 256→64, residual `Add`, `LayerNormalization`.\n\n"
            "Small constants (shape pieces, 0.5, 1, √2, 4, the mask fill) are `Constant` nodes, as in "
            "PyTorch exports; weights are initializers."
        ),
        tolerance=(1e-4, 1e-4),
        data_description="`hidden` is standard-normal float32; `mask` is int64 1 (token) / 0 (padding).",
        notes=[
            "`inputs/`: batch 2, seq 7; the second sequence is padded (mask `[1,1,1,1,0,0,0]`). Outputs at "
            "padded query positions are still defined (they attend to the 4 real tokens) and are compared too.",
            "`inputs_b1/`: batch 1, seq 5, no padding, so seq changes between the two sets as well as batch.",
            "The generator also checks that the mask works: perturbing `hidden` at padded positions leaves "
            "the outputs at real positions unchanged.",
        ],
        sanity=padding_is_ignored,
    )


FIXTURES: dict[str, Callable[[], Fixture]] = {"mlp": make_mlp, "cnn": make_cnn, "encoder": make_encoder}


# ----------------------------------------------------------------------------------------------
# Running, checking, writing


def ort_session(model_bytes: bytes, optimize: bool) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                        else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


@dataclass
class Difference:
    max_abs: float
    max_rel: float  # relative to |reference|, over elements where it is non-zero
    worst_scaled: float  # max |a - ref| / (1 + |ref|): what CROSS_CHECK_TOL bounds


def difference(actual: np.ndarray, reference: np.ndarray) -> Difference:
    a = actual.astype(np.float64)
    r = reference.astype(np.float64)
    error = np.abs(a - r)
    nonzero = r != 0
    return Difference(
        max_abs=float(error.max(initial=0.0)),
        max_rel=float((error[nonzero] / np.abs(r[nonzero])).max(initial=0.0)),
        worst_scaled=float((error / (1.0 + np.abs(r))).max(initial=0.0)),
    )


def validate_model(fixture: Fixture) -> None:
    model = fixture.model
    onnx.checker.check_model(model, full_check=True)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    used = {node.op_type for node in model.graph.node}
    unexpected = used - ALLOWED_OPS
    if unexpected:
        raise SystemExit(f"{fixture.name}: uses operators outside the allowed set: {sorted(unexpected)}")
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx"):
            raise SystemExit(f"{fixture.name}: node {node.name} is in domain {node.domain!r}")


def save_npy(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Little-endian, C order, no pickles: the only .npy flavour Kiln's reader needs to handle.
    array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    np.save(path, array, allow_pickle=False)


@dataclass
class SetResult:
    suffix: str
    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    vs_numpy: dict[str, Difference]
    vs_ort_optimized: dict[str, Difference]


def evaluate(fixture: Fixture, model_bytes: bytes) -> list[SetResult]:
    plain = ort_session(model_bytes, optimize=False)
    optimized = ort_session(model_bytes, optimize=True)
    output_names = [o.name for o in fixture.model.graph.output]
    if fixture.sanity:
        fixture.sanity(plain)
    results = []
    for suffix, inputs in fixture.input_sets.items():
        ort_outputs = dict(zip(output_names, plain.run(output_names, inputs)))
        optimized_outputs = dict(zip(output_names, optimized.run(output_names, inputs)))
        numpy_outputs = fixture.reference(inputs)
        vs_numpy, vs_optimized = {}, {}
        for name in output_names:
            got = ort_outputs[name]
            want = numpy_outputs[name]
            if got.shape != want.shape:
                raise SystemExit(f"{fixture.name}{suffix}/{name}: ORT shape {got.shape} vs numpy {want.shape}")
            if not np.all(np.isfinite(got)):
                raise SystemExit(f"{fixture.name}{suffix}/{name}: ORT produced non-finite values")
            vs_numpy[name] = difference(got, want)
            vs_optimized[name] = difference(optimized_outputs[name], got)
            for label, diff in (("numpy float64", vs_numpy[name]), ("ORT optimized", vs_optimized[name])):
                if diff.worst_scaled > CROSS_CHECK_TOL:
                    raise SystemExit(f"{fixture.name}{suffix}/{name}: ORT and {label} disagree: "
                                     f"max abs {diff.max_abs:.3g}, max rel {diff.max_rel:.3g}")
        results.append(SetResult(suffix, inputs, ort_outputs, vs_numpy, vs_optimized))
    return results


def describe_array(array: np.ndarray) -> str:
    return f"{array.dtype} {list(array.shape)}"


def value_info_text(value: onnx.ValueInfoProto) -> str:
    tensor_type = value.type.tensor_type
    dims = [d.dim_param if d.HasField("dim_param") else str(d.dim_value) for d in tensor_type.shape.dim]
    return f"`{value.name}`: {TensorProto.DataType.Name(tensor_type.elem_type).lower()} [{', '.join(dims)}]"


def readme_text(fixture: Fixture, results: list[SetResult], sizes: dict[str, int]) -> str:
    name = fixture.name
    rtol, atol = fixture.tolerance
    model = fixture.model
    op_counts = Counter(node.op_type for node in model.graph.node)
    parameters = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    lines = [
        f"# Fixture `{name}`",
        "",
        "Generated by `Scripts/python/make_fixtures.py`; do not edit by hand (regenerate instead).",
        "",
        "## Network",
        "",
        fixture.summary,
        "",
        f"- Inputs: {'; '.join(value_info_text(v) for v in model.graph.input)}",
        f"- Outputs: {'; '.join(value_info_text(v) for v in model.graph.output)}",
        f"- ONNX opset {OPSET}, IR version {IR_VERSION}, {len(model.graph.node)} nodes, "
        f"{len(model.graph.initializer)} initializers ({parameters:,} float32 parameters).",
        f"- Operators: {', '.join(f'{op} ×{count}' for op, count in sorted(op_counts.items()))}.",
        "",
        "## Data sets",
        "",
        "| folder | inputs | expected outputs |",
        "|---|---|---|",
    ]
    for result in results:
        inputs = ", ".join(f"`{k}` {describe_array(v)}" for k, v in result.inputs.items())
        outputs = ", ".join(f"`{k}` {describe_array(v)}" for k, v in result.outputs.items())
        lines.append(f"| `inputs{result.suffix}/` → `expected{result.suffix}/` | {inputs} | {outputs} |")
    lines += [""] + [f"- {note}" for note in fixture.notes] + ([""] if fixture.notes else [])
    lines += [
        f"{fixture.data_description} Weights are drawn from a fixed seed with He or 1/√fan-in scaling so "
        "every output is O(1).",
        "",
        "## Tolerance",
        "",
        f"Compare Kiln's float32 outputs with `expected*/` using **rtol {rtol:g}, atol {atol:g}** "
        "(numpy `isclose`: |kiln − expected| ≤ atol + rtol·|expected|). Differences between correct "
        "float32 implementations come from summation order (BLAS blocking, SIMD width, threads); the "
        "table below shows how far ONNX Runtime's float32 results are from a float64 evaluation, which "
        "is the scale of error a correct Kiln should show.",
        "",
        "| data set | output | ORT vs numpy float64: max abs / max rel | ORT all-optimizations vs ORT plain: max abs |",
        "|---|---|---|---|",
    ]
    for result in results:
        for output, diff in result.vs_numpy.items():
            optimized = result.vs_ort_optimized[output]
            lines.append(f"| `inputs{result.suffix}` | `{output}` | {diff.max_abs:.2e} / {diff.max_rel:.2e} "
                         f"| {optimized.max_abs:.2e} |")
    lines += [
        "",
        "(Max rel is over all elements, so an output element close to 0 can make it large; the "
        "atol term is there for those.)",
        "",
        "## How it was made",
        "",
        f"1. The graph is built node by node with `onnx.helper` (onnx {onnx.__version__}, opset {OPSET}), "
        f"weights from numpy {np.__version__} "
        "`random.default_rng` with a fixed seed; `onnx.checker` (full check) and strict shape "
        "inference must pass, and only operators from Kiln's first operator set are allowed.",
        "2. `expected*/` = ONNX Runtime "
        f"{ort.__version__} (CPUExecutionProvider, `intra_op_num_threads=1`, graph optimizations "
        "disabled so each node runs as written).",
        "3. Cross-checks, both required to pass to 1e-5 (|a − b| ≤ 1e-5·(1 + |b|)): an independent "
        "float64 numpy implementation of the same network (written from the weights, not by "
        "interpreting the graph), and ONNX Runtime with all graph optimizations (fusions) on.",
        "",
        "Regenerate (byte-for-byte identical on the same package versions):",
        "",
        "```sh",
        "PY=$(bash Scripts/python-env.sh)",
        f"$PY Scripts/python/make_fixtures.py --only {name}",
        "```",
        "",
        "## Using it with Kiln",
        "",
        "The `.kiln` file is not committed here; make it from `model.onnx` with the CLI, run it on each data "
        "set and compare (flag spelling as in the CLI's `--help` if it differs):",
        "",
        "```sh",
        f"swift run -c release kiln convert Fixtures/{name}/model.onnx -o Fixtures/{name}/model.kiln",
        f"swift run -c release kiln inspect Fixtures/{name}/model.kiln",
    ]
    for result in results:
        input_flags = " ".join(f"--input {k}=Fixtures/{name}/inputs{result.suffix}/{k}.npy" for k in result.inputs)
        out_dir = f"/tmp/kiln-{name}{result.suffix}"
        lines.append(f"swift run -c release kiln run Fixtures/{name}/model.kiln {input_flags} --output-dir {out_dir}")
        for output in result.outputs:
            lines.append(f"$PY Scripts/python/compare_npy.py {out_dir}/{output}.npy "
                         f"Fixtures/{name}/expected{result.suffix}/{output}.npy --rtol {rtol:g} --atol {atol:g}")
    lines += [
        "```",
        "",
        "Files: " + ", ".join(f"`{path}` {size / 1024:.1f} KiB" for path, size in sizes.items()) + ".",
        "",
    ]
    return "\n".join(lines)


def write_fixture(fixture: Fixture, out_root: Path) -> tuple[list[SetResult], dict[str, int]]:
    validate_model(fixture)
    model_bytes = fixture.model.SerializeToString()
    results = evaluate(fixture, model_bytes)

    directory = out_root / fixture.name
    if directory.exists():
        shutil.rmtree(directory)  # no stale data sets from an older version of this script
    directory.mkdir(parents=True)
    (directory / "model.onnx").write_bytes(model_bytes)
    for result in results:
        for input_name, array in result.inputs.items():
            save_npy(directory / f"inputs{result.suffix}" / f"{input_name}.npy", array)
        for output_name, array in result.outputs.items():
            save_npy(directory / f"expected{result.suffix}" / f"{output_name}.npy", array)
    sizes = {str(p.relative_to(directory)): p.stat().st_size for p in sorted(directory.rglob("*")) if p.is_file()}
    total = sum(sizes.values())
    if total > MAX_FIXTURE_BYTES:
        raise SystemExit(f"{fixture.name}: {total} bytes, over the {MAX_FIXTURE_BYTES} byte budget")
    (directory / "README.md").write_text(readme_text(fixture, results, sizes))
    return results, sizes


def same_tree(left: Path, right: Path) -> bool:
    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()} if root.is_dir() else {}
    return files(left) == files(right)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "Fixtures", help="output root (default: Fixtures/)")
    parser.add_argument("--only", action="append", choices=sorted(FIXTURES), help="fixture(s) to build")
    parser.add_argument("--check", action="store_true",
                        help="build into a temporary folder and exit 1 unless --out already holds identical files")
    args = parser.parse_args(argv)
    names = args.only or list(FIXTURES)

    if args.check:
        with tempfile.TemporaryDirectory() as scratch:
            for name in names:
                write_fixture(FIXTURES[name](), Path(scratch))
            stale = [name for name in names if not same_tree(Path(scratch) / name, args.out / name)]
        if stale:
            print(f"out of date in {args.out}: {', '.join(stale)} (rerun without --check)")
            return 1
        print(f"up to date in {args.out}: {', '.join(names)}")
        return 0

    for name in names:
        fixture = FIXTURES[name]()
        results, sizes = write_fixture(fixture, args.out)
        print(f"{name}: {sum(sizes.values()) / 1024:.1f} KiB in {args.out / name}")
        for result in results:
            for output, diff in result.vs_numpy.items():
                optimized = result.vs_ort_optimized[output]
                print(f"  inputs{result.suffix:<3} {output}: {describe_array(result.outputs[output])}; ORT vs numpy64 "
                      f"max abs {diff.max_abs:.2e}, max rel {diff.max_rel:.2e}; ORT optimized vs plain max abs "
                      f"{optimized.max_abs:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
