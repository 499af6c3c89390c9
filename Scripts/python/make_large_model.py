#!/usr/bin/env python3
"""Writes a ~105 MB ONNX model (four 2560x2560 MatMul layers with Relu) for load-time and
memory measurements: `make_large_model.py OUT.onnx`. Weights are random (fixed seed); the model is
too large to commit, so it is made on demand (see Docs/FORMAT.md, "Loading without copies")."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "large.onnx"
    width, layers = 2560, 4
    rng = np.random.default_rng(7)
    nodes, initializers, previous = [], [], "x"
    for layer in range(layers):
        weight = (rng.standard_normal((width, width), dtype=np.float32) / np.sqrt(width)).astype(np.float32)
        initializers.append(numpy_helper.from_array(weight, f"w{layer}"))
        nodes.append(helper.make_node("MatMul", [previous, f"w{layer}"], [f"h{layer}"], name=f"matmul{layer}"))
        nodes.append(helper.make_node("Relu", [f"h{layer}"], [f"r{layer}"], name=f"relu{layer}"))
        previous = f"r{layer}"
    nodes.append(helper.make_node("Identity", [previous], ["y"], name="output"))
    graph = helper.make_graph(
        nodes, "large",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", width])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="kiln-make_large_model")
    onnx.save(model, out)
    print(f"wrote {out}: {sum(i.raw_data.__len__() for i in initializers) / 1e6:.1f} MB of weights")


if __name__ == "__main__":
    main()
