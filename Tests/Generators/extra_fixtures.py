#!/usr/bin/env python3
"""Writes Tests/KilnTests/ExtraOperatorFixtures.swift: inputs and expected outputs of Einsum,
Resize, Upsample and the quantization operators, computed by implementations independent of Kiln:
numpy.einsum for Einsum, ONNX Runtime for the others (each case is a one-node ONNX model). A case
ONNX Runtime rejects falls back to the ONNX reference evaluator (onnx.reference), and the fixture
says which produced it.

Cases avoid two places where ONNX Runtime departs from the ONNX reference and backend tests:
`align_corners` with a `scales` that makes a fractional output length (ONNX Runtime uses the
rounded length), and `tf_crop_and_resize` on an axis whose size does not change (ONNX Runtime
ignores that axis's roi).

Run from the repository root with the project's venv (numpy, onnx, onnxruntime):
    /work/main/.venv/bin/python Tests/Generators/extra_fixtures.py
"""
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

DTYPES = {
    np.dtype(np.float32): (".float32", TensorProto.FLOAT),
    np.dtype(np.float16): (".float16", TensorProto.FLOAT16),
    np.dtype(np.int64): (".int64", TensorProto.INT64),
    np.dtype(np.int32): (".int32", TensorProto.INT32),
    np.dtype(np.int8): (".int8", TensorProto.INT8),
    np.dtype(np.uint8): (".uint8", TensorProto.UINT8),
    np.dtype(np.bool_): (".bool", TensorProto.BOOL),
}


def swift_number(v):
    v = float(v)
    if np.isnan(v):
        return ".nan"
    if np.isinf(v):
        return ".infinity" if v > 0 else "-.infinity"
    return str(int(v)) if v.is_integer() else repr(v)


def swift_tensor(array):
    if array is None:
        return "nil"
    array = np.asarray(array)
    dtype = DTYPES[array.dtype][0]
    shape = "[" + ", ".join(str(d) for d in array.shape) + "]"
    values = "[" + ", ".join(swift_number(v) for v in array.astype(np.float64).ravel()) + "]"
    return f"ExtraFixtureTensor({dtype}, {shape}, {values})"


def swift_attribute(value):
    if isinstance(value, str):
        return f'.string("{value}")'
    if isinstance(value, bool) or isinstance(value, int):
        return f".int({int(value)})"
    if isinstance(value, float):
        return f".float({swift_number(np.float32(value))})"
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return ".ints([" + ", ".join(str(v) for v in value) + "])"
    if isinstance(value, list):
        return ".floats([" + ", ".join(swift_number(np.float32(v)) for v in value) + "])"
    raise ValueError(value)


def swift_case(name, op, opset, attributes, inputs, outputs, source):
    attrs = ", ".join(f'"{k}": {swift_attribute(v)}' for k, v in sorted(attributes.items())) or ":"
    ins = ",\n                       ".join(swift_tensor(x) for x in inputs)
    outs = ",\n                        ".join(swift_tensor(y) for y in outputs)
    return (
        f'        OperatorFixture(name: "{name}", op: "{op}", opset: {opset}, source: "{source}",\n'
        f"                        attributes: [{attrs}],\n"
        f"                        inputs: [{ins}],\n"
        f"                        outputs: [{outs}]),"
    )


def values(shape, seed, dtype=np.float32, low=-8, high=8):
    rng = np.random.default_rng(seed)
    if np.issubdtype(np.dtype(dtype), np.integer):
        return rng.integers(low, high + 1, size=shape).astype(dtype)
    # Multiples of 1/8 keep inputs exact in every format.
    return (rng.integers(low * 8, high * 8 + 1, size=shape) / 8).astype(dtype)


def run_onnx(op, opset, attributes, inputs, output_count=1):
    """Runs a one-node model with ONNX Runtime, falling back to the ONNX reference evaluator."""
    inputs = [None if x is None else np.asarray(x) for x in inputs]
    names = [f"in{i}" if x is not None else "" for i, x in enumerate(inputs)]
    graph_inputs = [
        helper.make_tensor_value_info(n, DTYPES[x.dtype][1], x.shape) for n, x in zip(names, inputs) if x is not None
    ]
    outputs = [f"out{i}" for i in range(output_count)]
    node = helper.make_node(op, names, outputs, **attributes)
    graph = helper.make_graph([node], "fixture", graph_inputs, [helper.make_empty_tensor_value_info(o) for o in outputs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 9
    model = onnx.shape_inference.infer_shapes(model)
    feeds = {n: x for n, x in zip(names, inputs) if x is not None}
    try:
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        return session.run(None, feeds), f"onnxruntime {ort.__version__}"
    except Exception as error:  # noqa: BLE001 - any rejection falls back to the reference
        print(f"  {op} opset {opset} {attributes}: onnxruntime failed ({str(error).splitlines()[0][:120]}); using onnx.reference")
        return ReferenceEvaluator(model).run(None, feeds), f"onnx.reference {onnx.__version__}"


def einsum_cases():
    cases = [
        ("bhqd,bhkd->bhqk", [[2, 3, 5, 4], [2, 3, 6, 4]]),
        ("bhqk,bhkd->bhqd", [[2, 3, 5, 6], [2, 3, 6, 4]]),
        ("bid,bjd->bij", [[2, 5, 3], [2, 4, 3]]),
        ("abc,cd->abd", [[2, 3, 4], [4, 5]]),
        ("ij->ji", [[3, 5]]),
        ("ij->i", [[3, 5]]),
        ("ij->j", [[3, 5]]),
        ("ij->", [[3, 5]]),
        ("i,j->ij", [[4], [5]]),
        ("i,i", [[7], [7]]),
        ("ii->i", [[4, 4]]),
        ("ii", [[4, 4]]),
        ("bii->bi", [[2, 3, 3]]),
        ("bij,bjk", [[2, 3, 4], [2, 4, 5]]),
        ("ij,jk,kl->il", [[2, 3], [3, 4], [4, 5]]),
        ("...ij,...jk->...ik", [[2, 3, 4], [2, 4, 5]]),
        ("...ij,...jk->...ik", [[2, 1, 3, 4], [5, 4, 2]]),
        ("b...d,d->b...", [[2, 3, 4, 5], [5]]),
        ("...,...->...", [[2, 3], [3]]),
        ("i...->...", [[3, 2, 4]]),
        ("Ab,bC->AC", [[3, 4], [4, 2]]),
        ("ij,ij->ij", [[1, 3], [2, 3]]),
        ("bqhd,bkhd->bhqk", [[2, 5, 3, 4], [2, 6, 3, 4]]),
        ("ij,jk->ik", [[0, 3], [3, 4]]),
        ("ij,jk->ik", [[2, 0], [0, 3]]),
        ("ijk,ikl->jl", [[3, 2, 4], [3, 4, 5]]),
        (" i j , j k -> i k ", [[2, 3], [3, 2]]),
    ]
    lines = []
    for index, (equation, shapes) in enumerate(cases):
        operands = [values(shape, 100 + index * 7 + k) for k, shape in enumerate(shapes)]
        expected = np.einsum(equation.replace(" ", ""), *[x.astype(np.float64) for x in operands]).astype(np.float32)
        lines.append(swift_case(f"einsum {equation.strip()}", "Einsum", 12, {"equation": equation}, operands,
                                [np.asarray(expected)], f"numpy {np.__version__}"))
    return lines


def resize_cases():
    x4 = values([1, 2, 3, 4], 1)
    x5 = values([1, 2, 4, 5], 2)
    cases = [
        ({"mode": "linear"}, [x4, None, np.array([1, 1, 2, 2], np.float32)]),
        ({"mode": "linear", "coordinate_transformation_mode": "align_corners"}, [x4, None, None, np.array([1, 2, 5, 7], np.int64)]),
        ({"mode": "linear", "coordinate_transformation_mode": "asymmetric"}, [x5, None, np.array([1, 1, 0.5, 1.7], np.float32)]),
        ({"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"}, [x5, None, None, np.array([1, 2, 1, 6], np.int64)]),
        ({"mode": "linear", "coordinate_transformation_mode": "half_pixel_symmetric"}, [x4, None, np.array([1, 1, 2.3, 0.76], np.float32)]),
        ({"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "round_prefer_ceil"},
         [x4, None, np.array([1, 1, 1.5, 2.5], np.float32)]),
        ({"mode": "nearest", "nearest_mode": "floor"}, [x5, None, np.array([1, 1, 0.6, 0.6], np.float32)]),
        ({"mode": "nearest", "nearest_mode": "ceil", "coordinate_transformation_mode": "align_corners"},
         [x4, None, None, np.array([2, 1, 5, 3], np.int64)]),
        ({"mode": "cubic"}, [x5, None, np.array([1, 1, 1.8, 0.7], np.float32)]),
        ({"mode": "cubic", "cubic_coeff_a": -0.5, "exclude_outside": 1}, [x5, None, np.array([1, 1, 1.8, 0.7], np.float32)]),
        ({"mode": "cubic", "coordinate_transformation_mode": "align_corners"}, [x4, None, None, np.array([1, 2, 6, 3], np.int64)]),
        ({"mode": "linear", "antialias": 1}, [values([1, 1, 8, 9], 3), None, np.array([1, 1, 0.4, 0.6], np.float32)]),
        ({"mode": "cubic", "antialias": 1}, [values([1, 1, 8, 9], 4), None, None, np.array([1, 1, 3, 5], np.int64)]),
        ({"mode": "linear"}, [values([1, 1, 3, 4, 5], 5), None, np.array([1, 1, 2, 1.5, 0.5], np.float32)]),
        ({"mode": "linear", "axes": [1]}, [values([3, 4], 6), None, np.array([2.5], np.float32)]),
        ({"mode": "linear", "axes": [1, 0], "keep_aspect_ratio_policy": "not_larger"},
         [values([4, 6], 7), None, None, np.array([5, 5], np.int64)]),
        ({"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize", "extrapolation_value": -3.0},
         [values([1, 1, 4, 5], 8), np.array([0, 0, -0.2, 0.3, 1, 1, 0.8, 1.4], np.float32), None, np.array([1, 1, 5, 6], np.int64)]),
        ({"mode": "nearest", "coordinate_transformation_mode": "tf_crop_and_resize", "extrapolation_value": 7.0, "axes": [2, 3]},
         [values([1, 1, 4, 5], 9), np.array([0.1, -0.5, 0.9, 1.2], np.float32), None, np.array([3, 7], np.int64)]),
        ({"mode": "nearest"}, [values([1, 2, 3, 3], 10, np.uint8, 0, 255), None, np.array([1, 1, 1.7, 0.7], np.float32)]),
        ({"mode": "linear"}, [values([1, 2, 3, 4], 11, np.float16), None, np.array([1, 1, 1.5, 2], np.float32)]),
    ]
    lines = []
    for index, (attributes, inputs) in enumerate(cases):
        names = ["X", "roi", "scales", "sizes"]
        inputs = inputs + [None] * (4 - len(inputs))
        while inputs[-1] is None:
            inputs.pop()
        (output,), source = run_onnx("Resize", 19, attributes, inputs)
        described = ", ".join(f"{k}={v}" for k, v in sorted(attributes.items()))
        lines.append(swift_case(f"resize {index}: {described}", "Resize", 19, attributes, inputs, [output], source))
        del names
    legacy = [
        ("Resize", 10, {"mode": "nearest"}, [values([1, 1, 4, 6], 12), np.array([1, 1, 0.5, 0.75], np.float32)]),
        ("Resize", 10, {"mode": "linear"}, [values([1, 1, 3, 4], 13), np.array([1, 1, 2, 1.5], np.float32)]),
        ("Upsample", 9, {"mode": "linear"}, [values([1, 2, 2, 3], 14), np.array([1, 1, 2, 3], np.float32)]),
        ("Upsample", 9, {"mode": "nearest"}, [values([1, 1, 2, 3], 15, np.uint8, 0, 255), np.array([1, 1, 2.5, 1.5], np.float32)]),
        ("Upsample", 7, {"mode": "nearest", "scales": [1.0, 1.0, 2.0, 3.0]}, [values([1, 1, 2, 2], 16)]),
    ]
    for index, (op, opset, attributes, inputs) in enumerate(legacy):
        (output,), source = run_onnx(op, opset, attributes, inputs)
        lines.append(swift_case(f"{op.lower()} opset {opset} {index}", op, opset, attributes, inputs, [output], source))
    return lines


def quantization_cases():
    lines = []

    def add(name, op, opset, attributes, inputs, output_count=1):
        outputs, source = run_onnx(op, opset, attributes, inputs, output_count)
        lines.append(swift_case(name, op, opset, attributes, inputs, outputs, source))

    halves = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 127.5, 300, -300, 0.25, 1e6, -3.75], np.float32).reshape(2, 3, 2)
    add("quantize per tensor uint8", "QuantizeLinear", 13, {}, [halves, np.float32(0.5), np.uint8(128)])
    add("quantize per tensor int8 no zero point", "QuantizeLinear", 13, {},
        [halves, np.float32(1.0), np.int8(0)])
    add("quantize per axis int8", "QuantizeLinear", 13, {"axis": 1},
        [values([2, 3, 4], 20), np.array([0.5, 0.25, 2], np.float32), np.array([-3, 0, 5], np.int8)])
    add("quantize per axis last", "QuantizeLinear", 13, {"axis": -1},
        [values([3, 4], 21), np.array([0.5, 0.25, 2, 1], np.float32), np.array([10, 0, 5, 255], np.uint8)])
    add("quantize blocked", "QuantizeLinear", 21, {"axis": 1, "block_size": 2},
        [values([2, 5, 2], 22), (values([2, 3, 2], 23) / 8 + 2.0625).astype(np.float32), np.array(values([2, 3, 2], 24, np.int8), np.int8)])
    add("quantize float16 scale", "QuantizeLinear", 19, {},
        [values([7], 25, np.float16), np.float16(0.3), np.uint8(3)])
    add("dequantize per axis uint8", "DequantizeLinear", 13, {"axis": 0},
        [values([3, 4], 30, np.uint8, 0, 255), np.array([0.5, 0.1, 3], np.float32), np.array([128, 0, 255], np.uint8)])
    add("dequantize int32", "DequantizeLinear", 13, {}, [values([5], 31, np.int32, -100000, 100000), np.float32(0.01)])
    add("dequantize blocked", "DequantizeLinear", 21, {"axis": 0, "block_size": 3},
        [values([5, 2], 32, np.int8, -128, 127), (values([2, 2], 33) / 16 + 1).astype(np.float32), values([2, 2], 34, np.int8)])
    add("dequantize float16 scale", "DequantizeLinear", 19, {},
        [values([6], 35, np.int8, -128, 127), np.float16(0.0123), np.int8(-7)])
    add("dynamic quantize", "DynamicQuantizeLinear", 11, {}, [values([3, 5], 36)], 3)
    add("dynamic quantize positive", "DynamicQuantizeLinear", 11, {}, [np.abs(values([9], 37)) + 1], 3)

    a = values([2, 3, 600], 40, np.uint8, 200, 255)
    b = values([600, 5], 41, np.uint8, 200, 255)
    add("matmulinteger large K", "MatMulInteger", 10, {}, [a, b, np.uint8(3), np.uint8(250)])
    add("matmulinteger int8 per column", "MatMulInteger", 10, {},
        [values([4, 7], 42, np.int8, -128, 127), values([7, 3], 43, np.int8, -128, 127), np.int8(-5),
         np.array([1, -2, 3], np.int8)])
    add("matmulinteger per row", "MatMulInteger", 10, {},
        [values([3, 6], 44, np.uint8, 0, 255), values([6, 2], 45, np.uint8, 0, 255), np.array([[1], [2], [3]], np.uint8)])
    add("matmulinteger batched 1-D", "MatMulInteger", 10, {},
        [values([5], 46, np.uint8, 0, 255), values([2, 5, 3], 47, np.int8, -128, 127)])
    add("qlinearmatmul batched", "QLinearMatMul", 10, {},
        [values([2, 3, 9], 50, np.uint8, 0, 255), np.float32(0.02), np.uint8(120), values([9, 4], 51, np.uint8, 0, 255),
         np.float32(0.015), np.uint8(130), np.float32(0.07), np.uint8(100)])
    add("qlinearmatmul int8 per column", "QLinearMatMul", 10, {},
        [values([3, 5], 52, np.int8, -128, 127), np.float32(0.05), np.int8(2), values([5, 4], 53, np.int8, -128, 127),
         np.array([0.01, 0.02, 0.03, 0.04], np.float32), np.array([0, 1, -1, 3], np.int8), np.float32(0.2), np.int8(-10)])

    x = values([2, 4, 7, 6], 60, np.uint8, 0, 255)
    w = values([6, 2, 3, 3], 61, np.uint8, 0, 255)
    add("convinteger strided grouped", "ConvInteger", 10, {"group": 2, "strides": [2, 1], "pads": [1, 0, 1, 2], "dilations": [1, 2]},
        [x, w, np.uint8(7), np.uint8(130)])
    add("convinteger int8 same", "ConvInteger", 10, {"auto_pad": "SAME_UPPER"},
        [values([1, 3, 5, 5], 62, np.int8, -128, 127), values([2, 3, 2, 2], 63, np.int8, -128, 127)])
    add("qlinearconv per channel with bias", "QLinearConv", 10, {"pads": [1, 1, 1, 1], "strides": [1, 2]},
        [values([1, 3, 6, 5], 64, np.uint8, 0, 255), np.float32(0.03), np.uint8(128),
         values([4, 3, 3, 3], 65, np.int8, -128, 127), np.array([0.01, 0.02, 0.005, 0.04], np.float32),
         np.array([0, 0, 0, 0], np.int8), np.float32(0.25), np.uint8(110), np.array([100, -2000, 0, 50000], np.int32)])
    add("qlinearconv int8 1-D", "QLinearConv", 10, {"group": 2},
        [values([2, 4, 9], 66, np.int8, -128, 127), np.float32(0.04), np.int8(-3),
         values([2, 2, 3], 67, np.int8, -128, 127), np.float32(0.02), np.int8(0), np.float32(0.3), np.int8(5)])
    return lines


def main():
    root = pathlib.Path(__file__).resolve().parents[2]
    out = root / "Tests/KilnTests/ExtraOperatorFixtures.swift"
    text = [
        f"// Generated by Tests/Generators/extra_fixtures.py with numpy {np.__version__}, onnx {onnx.__version__},",
        f"// onnxruntime {ort.__version__}. Do not edit.",
        "",
        "import Kiln",
        "",
        "enum ExtraOperatorFixtures {",
        "    static let einsum: [OperatorFixture] = [",
        *einsum_cases(),
        "    ]",
        "",
        "    static let resize: [OperatorFixture] = [",
        *resize_cases(),
        "    ]",
        "",
        "    static let quantization: [OperatorFixture] = [",
        *quantization_cases(),
        "    ]",
        "}",
        "",
    ]
    out.write_text("\n".join(text))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
