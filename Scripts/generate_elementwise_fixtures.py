#!/usr/bin/env python3
"""Writes Tests/KilnTests/ElementwiseOnnxRuntimeFixtures.swift: inputs and ONNX Runtime outputs for
the elementwise operators, so the Swift tests compare Kiln against ONNX Runtime without Python.

Run from the repository root: python3 Scripts/generate_elementwise_fixtures.py
Needs: numpy, onnx, onnxruntime (PyPI). The generated file records the versions used.
"""
import math

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

OUTPUT = "Tests/KilnTests/ElementwiseOnnxRuntimeFixtures.swift"
SWIFT_DTYPES = {"float32": ".float32", "float16": ".float16", "int64": ".int64", "int32": ".int32",
                "int8": ".int8", "uint8": ".uint8", "bool": ".bool"}
COMPARISONS = {"Less", "Greater", "Equal", "LessOrEqual", "GreaterOrEqual"}


def run_onnxruntime(op, inputs, attributes, opset):
    value_infos = [helper.make_tensor_value_info(f"in{k}", helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
                   for k, v in enumerate(inputs)]
    if op in COMPARISONS:
        output_type = onnx.TensorProto.BOOL
    elif op == "Cast":
        output_type = attributes["to"]
    else:
        output_type = helper.np_dtype_to_tensor_dtype(inputs[1 if op == "Where" else 0].dtype)
    node = helper.make_node(op, [f"in{k}" for k in range(len(inputs))], ["out"], **attributes)
    graph = helper.make_graph([node], op, value_infos, [helper.make_tensor_value_info("out", output_type, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {f"in{k}": v for k, v in enumerate(inputs)})[0]


def swift_number(value):
    value = float(value)
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".infinity" if value > 0 else "-.infinity"
    if value == 0 and math.copysign(1, value) < 0:
        return "-0.0"
    return repr(value)


def swift_tensor(array):
    array = np.asarray(array)
    values = ", ".join(swift_number(v) for v in np.asarray(array).reshape(-1))
    shape = ", ".join(str(d) for d in array.shape)
    return f"FixtureTensor({SWIFT_DTYPES[array.dtype.name]}, [{shape}], [{values}])"


def swift_attribute(name, value):
    if isinstance(value, str):
        return f'"{name}": .string("{value}")'
    if name in ("to", "fmod"):
        return f'"{name}": .int({value})'
    return f'"{name}": .float({swift_number(np.float32(value))})'


def main():
    rng = np.random.default_rng(2024)
    cases = []

    def add(name, op, inputs, attributes=None, opset=21):
        attributes = attributes or {}
        expected = run_onnxruntime(op, inputs, attributes, opset)
        cases.append((name, op, attributes, opset, inputs, expected))

    specials = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 88.5, -88.5, 100.0, -100.0, 3.0001, -3.0001]
    x = np.concatenate([np.linspace(-10, 10, 41), specials]).astype(np.float32)
    positive = (np.abs(x) + np.float32(1e-3)).astype(np.float32)
    for op in ["Exp", "Tanh", "Sigmoid", "Erf", "Gelu", "Neg", "Abs", "Sign", "Floor", "Ceil", "Round", "Reciprocal",
               "Relu", "Softsign", "Softplus", "HardSwish", "Elu", "Selu", "Sin", "Cos"]:
        add(op, op, [x])
    add("GeluTanh", "Gelu", [x], {"approximate": "tanh"})
    add("Mish", "Mish", [x], opset=18)
    add("Log", "Log", [positive])
    add("Sqrt", "Sqrt", [positive])
    add("LeakyRelu", "LeakyRelu", [x], {"alpha": 0.3})
    add("HardSigmoid", "HardSigmoid", [x], {"alpha": 0.3, "beta": 0.4})
    add("RoundHalves", "Round", [np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5], np.float32)])

    a = rng.standard_normal((2, 3, 2, 4)).astype(np.float32)
    channel = rng.standard_normal((3, 1, 1)).astype(np.float32)
    row = rng.standard_normal((4,)).astype(np.float32)
    for op in ["Add", "Sub", "Mul", "Div", "Max", "Min", "Less", "Greater", "Equal", "LessOrEqual", "GreaterOrEqual"]:
        add(op + "Channel", op, [a, channel])
        add(op + "Row", op, [a, row])
    add("PowRow", "Pow", [np.abs(a), row])
    add("PRelu", "PRelu", [a, np.abs(channel)])
    add("ClipScalars", "Clip", [a, np.array(-0.5, np.float32), np.array(0.7, np.float32)])
    add("Sum3", "Sum", [a, channel, row])
    add("Mean3", "Mean", [a, channel, row])
    add("Max3", "Max", [a, channel, row])
    add("Where", "Where", [rng.integers(0, 2, (3, 1)).astype(np.bool_), rng.standard_normal((1, 4)).astype(np.float32),
                           np.array(-1e9, np.float32)])

    left = rng.integers(-100, 100, (3, 6)).astype(np.int64)
    right = (rng.integers(1, 9, (6,)) * np.array([1, -1, 1, -1, 1, -1])).astype(np.int64)
    for op in ["Add", "Sub", "Mul", "Div", "Max", "Min", "Mod"]:
        add(op + "Int64", op, [left, right])
    add("ModFmod", "Mod", [a, channel], {"fmod": 1})
    add("DivInt32", "Div", [left.astype(np.int32), right.astype(np.int32)])

    for code, name in [(1, "Float"), (10, "Float16"), (7, "Int64"), (6, "Int32"), (3, "Int8"), (2, "UInt8"), (9, "Bool")]:
        add("CastFloatTo" + name, "Cast", [(x * 30).astype(np.float32)], {"to": code})
        add("CastInt64To" + name, "Cast", [left * 3], {"to": code})

    lines = [
        "// Generated by Scripts/generate_elementwise_fixtures.py; do not edit.",
        f"// ONNX Runtime {ort.__version__}, onnx {onnx.__version__}, numpy {np.__version__}.",
        "import Kiln",
        "",
        "extension ElementwiseOnnxRuntimeTests {",
        "    static let cases: [OnnxRuntimeCase] = [",
    ]
    for name, op, attributes, opset, inputs, expected in cases:
        attribute_text = ", ".join(swift_attribute(k, v) for k, v in attributes.items()) or ":"
        inputs_text = ", ".join(swift_tensor(v) for v in inputs)
        lines.append(f'        OnnxRuntimeCase(name: "{name}", opType: "{op}", attributes: [{attribute_text}], opset: {opset},')
        lines.append(f"                        inputs: [{inputs_text}],")
        lines.append(f"                        expected: {swift_tensor(expected)}),")
    lines += ["    ]", "}", ""]
    with open(OUTPUT, "w") as handle:
        handle.write("\n".join(lines))
    print(f"wrote {len(cases)} cases to {OUTPUT}")


if __name__ == "__main__":
    main()
