#!/usr/bin/env python3
"""Writes the ONNX backend node tests shipped in the `onnx` wheel as files Kiln's conformance runner reads.

Usage: python Scripts/generate-conformance.py [--output Conformance/node] [--op-type Relu]
Needs: pip install onnx numpy (tested with onnx 1.23.2). The output folder is git-ignored; this
script replaces it completely on every run.

Layout (one folder per test, named like the ONNX test, e.g. `test_relu`):

    Conformance/node/
        skipped.txt                       "<test name>: <reason>" per test not written, sorted
        <test name>/
            model.onnx                    the single-node model (opset and IR version as ONNX wrote them)
            test.json                     {"name", "operator", "opset", "rtol", "atol",
                                           "inputs":  [{"name", "file", "dtype", "shape"}, ...],
                                           "outputs": [{"name", "file", "dtype", "shape"}, ...]}
            inputs/<index>_<name>.npy     graph input <index> (0-based, in the model's input order)
            expected/<index>_<name>.npy   expected graph output <index>

`<name>` in a file name is the value name with every character outside [A-Za-z0-9._-] replaced by
"_"; test.json has the exact names. Every array is C-ordered, little-endian, in one of Kiln's dtypes
(float32, float16, int64, int32, int8, uint8, bool); a 0-d array is a scalar. Tests whose inputs or
outputs are anything else (other dtypes, sequences, optionals, maps, missing values) are skipped.
"""

import argparse
import json
import os
import re
import shutil
import sys
import warnings

import numpy as np
import onnx
from onnx import numpy_helper

# numpy dtype -> Kiln dtype name (DType.description).
KILN_DTYPES = {
    np.dtype(np.float32): "float32",
    np.dtype(np.float16): "float16",
    np.dtype(np.int64): "int64",
    np.dtype(np.int32): "int32",
    np.dtype(np.int8): "int8",
    np.dtype(np.uint8): "uint8",
    np.dtype(np.bool_): "bool",
}
# ONNX TensorProto.DataType codes of those dtypes.
KILN_ONNX_TYPES = {1, 10, 7, 6, 3, 2, 9}


class Skip(Exception):
    pass


def file_safe(name):
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "_"


def as_kiln_array(value, what):
    """The value as a C-ordered ndarray of a Kiln dtype, or Skip with the reason."""
    if value is None:
        raise Skip(f"{what} is missing (optional value)")
    if isinstance(value, (list, tuple)):
        raise Skip(f"{what} is a sequence")
    if isinstance(value, dict):
        raise Skip(f"{what} is a map")
    if isinstance(value, onnx.TensorProto):
        if value.data_type not in KILN_ONNX_TYPES:
            name = onnx.TensorProto.DataType.Name(value.data_type)
            raise Skip(f"{what} has element type {name}")
        value = numpy_helper.to_array(value)
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise Skip(f"{what} is a {type(value).__name__}")
    if value.dtype not in KILN_DTYPES:
        raise Skip(f"{what} has dtype {value.dtype}")
    return np.array(value, dtype=value.dtype.newbyteorder("<"), order="C", copy=True)


def check_value_types(values, what):
    """Skips models whose declared inputs/outputs are not tensors of Kiln's dtypes."""
    for value in values:
        kind = value.type.WhichOneof("value")
        if kind is None:
            continue
        if kind != "tensor_type":
            raise Skip(f"{what} '{value.name}' is not a tensor but a {kind.replace('_type', '')}")
        if value.type.tensor_type.elem_type not in KILN_ONNX_TYPES:
            name = onnx.TensorProto.DataType.Name(value.type.tensor_type.elem_type)
            raise Skip(f"{what} '{value.name}' has element type {name}")


def write_arrays(folder, values, arrays, role):
    os.makedirs(folder)
    entries = []
    for index, (value, array) in enumerate(zip(values, arrays)):
        file_name = f"{index}_{file_safe(value.name)}.npy"
        np.save(os.path.join(folder, file_name), array, allow_pickle=False)
        entries.append({
            "name": value.name,
            "file": f"{role}/{file_name}",
            "dtype": KILN_DTYPES[array.dtype.newbyteorder("=")],
            "shape": list(array.shape),
        })
    return entries


def prepare(case):
    """(model, input arrays, output arrays) for a test case, or Skip."""
    model = case.model
    if model is None:
        raise Skip("the test has no model")
    if len(case.data_sets) != 1:
        raise Skip(f"the test has {len(case.data_sets)} data sets")
    graph = model.graph
    inputs, outputs = case.data_sets[0]
    if len(inputs) != len(graph.input):
        raise Skip(f"{len(inputs)} input values for {len(graph.input)} graph inputs")
    if len(outputs) != len(graph.output):
        raise Skip(f"{len(outputs)} expected values for {len(graph.output)} graph outputs")
    check_value_types(graph.input, "input")
    check_value_types(graph.output, "output")
    input_arrays = [as_kiln_array(v, f"input '{graph.input[i].name}'") for i, v in enumerate(inputs)]
    output_arrays = [as_kiln_array(v, f"output '{graph.output[i].name}'") for i, v in enumerate(outputs)]
    return model, input_arrays, output_arrays


def operator_under_test(name, node_module):
    """The op type a node test is about; an `_expanded` test belongs to the op whose function it expands."""
    registry = getattr(node_module, "_existing_names", {})
    base = name.split("_expanded")[0]
    node = registry.get(name) or registry.get(base)
    return node.op_type if node is not None else None


def default_opset(model):
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
    return None


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=os.path.join(repo, "Conformance", "node"))
    parser.add_argument("--op-type", default=None, help="only the tests of this operator")
    arguments = parser.parse_args()

    # The test generators divide by zero, overflow casts, etc. on purpose.
    warnings.filterwarnings("ignore")
    from onnx.backend.test.case import node

    cases = node.collect_testcases(arguments.op_type)
    output = os.path.abspath(arguments.output)
    if os.path.exists(output):
        shutil.rmtree(output)
    os.makedirs(output)

    written, skipped = 0, []
    for case in sorted(cases, key=lambda c: c.name):
        try:
            model, input_arrays, output_arrays = prepare(case)
        except Skip as reason:
            skipped.append(f"{case.name}: {reason}")
            continue
        folder = os.path.join(output, case.name)
        os.makedirs(folder)
        onnx.save(model, os.path.join(folder, "model.onnx"))
        manifest = {
            "name": case.name,
            "operator": operator_under_test(case.name, node),
            "opset": default_opset(model),
            "rtol": case.rtol,
            "atol": case.atol,
            "inputs": write_arrays(os.path.join(folder, "inputs"), model.graph.input, input_arrays, "inputs"),
            "outputs": write_arrays(os.path.join(folder, "expected"), model.graph.output, output_arrays, "expected"),
        }
        with open(os.path.join(folder, "test.json"), "w") as file:
            json.dump(manifest, file, indent=1)
            file.write("\n")
        written += 1

    with open(os.path.join(output, "skipped.txt"), "w") as file:
        file.writelines(line + "\n" for line in sorted(skipped))
    print(f"onnx {onnx.__version__}: wrote {written} node tests to {output}, skipped {len(skipped)} (see skipped.txt)")


if __name__ == "__main__":
    sys.exit(main())
