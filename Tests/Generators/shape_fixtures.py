#!/usr/bin/env python3
"""Writes Tests/KilnTests/ShapeOperatorFixtures.swift: expected results of shape and data-movement
operators computed with numpy, an implementation independent of Kiln's.

Inputs are arange(n) reshaped (floats in the Swift tests), so each expected output is the list of
input positions it takes, which numpy computes with plain indexing.

Run from the repository root:  python3 Tests/Generators/shape_fixtures.py
"""
import pathlib

import numpy as np

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


def swift_int(value):
    if value == INT64_MAX:
        return "Int.max"
    if value == INT64_MIN:
        return "Int.min"
    return str(int(value))


def swift_ints(values):
    return "[" + ", ".join(swift_int(v) for v in values) + "]"


def swift_optional_ints(values):
    return "nil" if values is None else swift_ints(values)


def slice_cases():
    cases = [
        # shape, starts, ends, axes, steps
        ([10], [2], [7], None, None),
        ([10], [-3], [INT64_MAX], None, None),
        ([10], [0], [-1], None, None),
        ([10], [8], [2], None, [-2]),
        ([10], [-1], [INT64_MIN], None, [-1]),
        ([10], [INT64_MAX], [INT64_MIN], None, [-3]),
        ([10], [20], [30], None, None),
        ([10], [-20], [3], None, None),
        ([10], [5], [5], None, None),
        ([10], [3], [7], None, [-1]),
        ([10], [0], [10], None, [3]),
        ([0], [0], [INT64_MAX], None, None),
        ([0], [-1], [INT64_MIN], None, [-1]),
        ([1], [0], [1], None, [-1]),
        ([1], [-1], [INT64_MIN], None, [-1]),
        ([3, 4, 5], [1, 0], [3, -1], [0, 2], None),
        ([3, 4, 5], [0, 1], [INT64_MAX, 3], [-1, -2], [2, 1]),
        ([3, 4, 5], [2, 3, 4], [INT64_MIN, INT64_MIN, INT64_MIN], None, [-1, -2, -3]),
        ([3, 4, 5], [1], [2], [1], None),
        ([2, 17, 33], [0, 1, 31], [2, 17, 0], None, [1, 2, -1]),
        ([2, 17, 33], [0, 0, 0], [2, 17, 33], None, [1, 1, 1]),
        ([4, 9, 8, 7], [1, -1], [3, 0], [1, 3], [3, -2]),
        ([4, 9, 8, 7], [0, 0, 0, 0], [1, 1, 1, 1], None, None),
        ([5, 16], [0], [16], [1], [-1]),
    ]
    lines = []
    for shape, starts, ends, axes, steps in cases:
        data = np.arange(int(np.prod(shape))).reshape(shape)
        selection = [slice(None)] * len(shape)
        for position, start in enumerate(starts):
            axis = axes[position] if axes is not None else position
            step = steps[position] if steps is not None else 1
            selection[axis] = slice(start, ends[position], step)
        expected = data[tuple(selection)]
        lines.append(
            f"        SliceCase(shape: {swift_ints(shape)}, starts: {swift_ints(starts)}, ends: {swift_ints(ends)}, "
            f"axes: {swift_optional_ints(axes)}, steps: {swift_optional_ints(steps)},\n"
            f"                  outputShape: {swift_ints(expected.shape)}, output: {swift_ints(expected.ravel())}),"
        )
    return lines


def swift_doubles(values):
    def one(v):
        v = float(v)
        return str(int(v)) if v.is_integer() else repr(v)
    return "[" + ", ".join(one(v) for v in np.asarray(values, dtype=np.float64).ravel()) + "]"


def fixture(op, data, ints, outputs):
    """One FixtureCase: `data` is the float input, `outputs` numpy arrays."""
    params = ", ".join(f'"{k}": {swift_ints(np.asarray(v).ravel().tolist())}' for k, v in ints.items())
    shapes = "[" + ", ".join(swift_ints(o.shape) for o in outputs) + "]"
    values = "[" + ", ".join(swift_doubles(o) for o in outputs) + "]"
    return (
        f'        FixtureCase(op: "{op}", inputShape: {swift_ints(data.shape)}, input: {swift_doubles(data)},\n'
        f"                    ints: [{params or ':'}],\n"
        f"                    outputShapes: {shapes}, outputs: {values}),"
    )


def scrambled(shape, seed):
    """Small integers in a fixed pseudo-random order, with repeats (to exercise ties)."""
    rng = np.random.default_rng(seed)
    return rng.integers(-9, 10, size=shape).astype(np.float64)


def pad_cases():
    lines = []
    cases = [
        ("constant", [5], [2, 3], None),
        ("constant", [2, 3], [1, 0, 0, 2], None),
        ("constant", [2, 3, 4], [0, -1, 1, 1, 0, -2], None),
        ("constant", [3, 4], [2, 1], [1]),
        ("reflect", [5], [3, 2], None),
        ("reflect", [3, 4], [2, 3, 2, 3], None),
        ("reflect", [2, 17], [0, 9, 1, 16], None),
        ("reflect", [1, 3], [0, 2, 0, 2], None),
        ("edge", [4], [3, 5], None),
        ("edge", [2, 3, 5], [1, 0, 2, 0, 3, 1], None),
        ("wrap", [4], [5, 6], None),
        ("wrap", [3, 2], [1, 3, 2, 1], None),
        ("edge", [3, 4], [-1, 2, 1, -2], None),
        ("reflect", [3], [5, 4], None),
        ("constant", [0, 2], [1, 1, 0, 1], None),
    ]
    for mode, shape, pads, axes in cases:
        data = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
        rank = len(shape)
        padded_axes = axes if axes is not None else list(range(rank))
        n = len(padded_axes)
        widths = [(0, 0)] * rank
        for i, axis in enumerate(padded_axes):
            widths[axis] = (pads[i], pads[i + n])
        # numpy has no negative padding: crop first, then pad what remains.
        crop = tuple(slice(max(0, -b), shape[a] - max(0, -e)) for a, (b, e) in enumerate(widths))
        positive = [(max(0, b), max(0, e)) for b, e in widths]
        cropped = data[crop]
        if mode == "constant":
            expected = np.pad(cropped, positive, mode="constant", constant_values=-1)
        else:
            expected = np.pad(cropped, positive, mode={"reflect": "reflect", "edge": "edge", "wrap": "wrap"}[mode])
        ints = {"pads": pads}
        if axes is not None:
            ints["axes"] = axes
        lines.append(fixture("Pad." + mode, data, ints, [expected]))
    return lines


def tile_cases():
    lines = []
    for shape, repeats in [([3], [4]), ([2, 3], [2, 1]), ([2, 3], [1, 3]), ([2, 1, 3], [2, 5, 1]), ([1, 17], [9, 2]), ([2, 2], [0, 3])]:
        data = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
        lines.append(fixture("Tile", data, {"repeats": repeats}, [np.tile(data, repeats)]))
    return lines


def depth_space_cases():
    lines = []
    for shape, b in [([1, 8, 2, 3], 2), ([2, 9, 1, 2], 3), ([1, 4, 3, 3], 2), ([2, 3, 2, 2], 1)]:
        n, c, h, w = shape
        data = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
        dcr = data.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2).reshape(n, c // (b * b), h * b, w * b)
        crd = data.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(n, c // (b * b), h * b, w * b)
        lines.append(fixture("DepthToSpace.DCR", data, {"blocksize": [b]}, [dcr]))
        lines.append(fixture("DepthToSpace.CRD", data, {"blocksize": [b]}, [crd]))
    for shape, b in [([1, 2, 4, 6], 2), ([2, 1, 3, 3], 3), ([1, 3, 2, 2], 1)]:
        n, c, h, w = shape
        data = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
        expected = data.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4).reshape(n, c * b * b, h // b, w // b)
        lines.append(fixture("SpaceToDepth", data, {"blocksize": [b]}, [expected]))
    return lines


def trilu_cases():
    lines = []
    for shape in [[4, 5], [2, 3, 3], [5, 2], [1, 1]]:
        data = np.arange(1, int(np.prod(shape)) + 1, dtype=np.float64).reshape(shape)
        for k in [0, 1, -1, 3, -7, 100]:
            lines.append(fixture("Trilu", data, {"k": [k], "upper": [1]}, [np.triu(data, k)]))
            lines.append(fixture("Trilu", data, {"k": [k], "upper": [0]}, [np.tril(data, k)]))
    return lines


def topk_cases():
    lines = []
    for seed, (shape, axis, k) in enumerate([([9], 0, 3), ([3, 8], 1, 8), ([3, 8], 0, 2), ([2, 17, 3], 1, 5), ([4, 1], -1, 1), ([5, 6], -1, 0)]):
        data = scrambled(shape, seed)
        for largest in [1, 0]:
            keys = -data if largest else data
            order = np.argsort(keys, axis=axis, kind="stable")
            order = np.take(order, np.arange(k), axis=axis)
            values = np.take_along_axis(data, order, axis=axis)
            lines.append(fixture("TopK", data, {"k": [k], "axis": [axis], "largest": [largest]}, [values, order]))
    return lines


def cumsum_cases():
    lines = []
    for seed, (shape, axis) in enumerate([([7], 0), ([3, 4], 1), ([3, 4], 0), ([2, 3, 17], -1), ([2, 3, 4], 1)]):
        data = scrambled(shape, seed + 100)
        for exclusive in [0, 1]:
            for reverse in [0, 1]:
                x = np.flip(data, axis) if reverse else data
                total = np.cumsum(x, axis=axis)
                if exclusive:
                    total = total - x
                if reverse:
                    total = np.flip(total, axis)
                lines.append(fixture("CumSum", data, {"axis": [axis], "exclusive": [exclusive], "reverse": [reverse]}, [total]))
    return lines


def gather_elements_cases():
    lines = []
    rng = np.random.default_rng(7)
    for shape, index_shape, axis in [([3, 4], [3, 4], 0), ([3, 4], [2, 6], 1), ([2, 3, 5], [2, 2, 5], 1), ([4], [9], 0), ([2, 3, 4], [1, 3, 2], -1)]:
        data = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
        size = shape[axis]
        indices = rng.integers(-size, size, size=index_shape)
        # Written out (take_along_axis would broadcast): the index replaces the axis coordinate.
        expected = np.zeros(index_shape)
        for position in np.ndindex(*index_shape):
            source = list(position)
            source[axis] = int(indices[position]) % size
            expected[position] = data[tuple(source)]
        lines.append(fixture("GatherElements", data, {"indices": indices, "indexShape": index_shape, "axis": [axis]}, [expected]))
    return lines


def scatter_nd_cases():
    lines = []
    cases = [
        ([8], [[4], [3], [1], [7]], "none"),
        ([4, 3], [[1], [3]], "none"),
        ([2, 3, 4], [[0, 1], [1, 2], [1, -3]], "none"),
        ([4, 3], [[1], [1], [-1]], "add"),
        ([4, 3], [[2, 0], [2, 0], [0, 2]], "mul"),
        ([5], [[1], [1], [4]], "max"),
        ([5], [[1], [1], [4]], "min"),
    ]
    for shape, indices, reduction in cases:
        data = np.arange(1, int(np.prod(shape)) + 1, dtype=np.float64).reshape(shape)
        indices = np.array(indices)
        depth = indices.shape[-1]
        update_shape = list(indices.shape[:-1]) + shape[depth:]
        updates = (np.arange(int(np.prod(update_shape)), dtype=np.float64) * 3 - 5).reshape(update_shape)
        out = data.copy()
        for row in np.ndindex(indices.shape[:-1]):
            target = tuple(int(i) for i in indices[row])
            if reduction == "none":
                out[target] = updates[row]
            elif reduction == "add":
                out[target] += updates[row]
            elif reduction == "mul":
                out[target] *= updates[row]
            elif reduction == "max":
                out[target] = np.maximum(out[target], updates[row])
            else:
                out[target] = np.minimum(out[target], updates[row])
        ints = {"indices": indices, "indexShape": list(indices.shape), "updates": updates, "updateShape": update_shape}
        lines.append(fixture("ScatterND." + reduction, data, ints, [out]))
    return lines


def one_hot_cases():
    lines = []
    for indices, depth, axis in [([0, 2, -1, 5, -4], 4, -1), ([[1, 0], [2, 3]], 3, 0), ([[1, 0], [2, -2]], 3, 1), ([3], 5, -2)]:
        indices = np.array(indices)
        wrapped = np.where(indices < 0, indices + depth, indices)
        hot = np.zeros(indices.shape + (depth,), dtype=np.float64) + 2
        for position in np.ndindex(indices.shape):
            if 0 <= wrapped[position] < depth:
                hot[position + (wrapped[position],)] = 7
        hot = np.moveaxis(hot, -1, axis if axis >= 0 else axis + indices.ndim + 1)
        lines.append(fixture("OneHot", indices.astype(np.float64), {"depth": [depth], "axis": [axis]}, [hot]))
    return lines


def split_cases():
    lines = []
    for shape, axis, split, count in [([10], 0, [3, 3, 2, 2], 4), ([10], 0, None, 3), ([6, 4], 1, [1, 0, 3], 3),
                                      ([6, 4], 0, None, 2), ([2, 9, 2], -2, None, 4), ([3, 5], 1, [5], 1)]:
        data = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
        dim = shape[axis]
        sizes = split if split is not None else [-(-dim // count)] * (count - 1) + [dim - -(-dim // count) * (count - 1)]
        outputs = np.split(data, np.cumsum(sizes)[:-1], axis=axis)
        ints = {"axis": [axis], "outputs": [count]}
        if split is not None:
            ints["split"] = split
        lines.append(fixture("Split", data, ints, outputs))
    return lines


def nonzero_cases():
    lines = []
    for shape, seed in [([7], 1), ([3, 4], 2), ([2, 3, 5], 3), ([4, 0], 4)]:
        data = np.where(scrambled(shape, seed) > 2, scrambled(shape, seed), 0)
        lines.append(fixture("NonZero", data, {}, [np.array(np.nonzero(data))]))
    return lines


def main():
    root = pathlib.Path(__file__).resolve().parents[2]
    out = root / "Tests" / "KilnTests" / "ShapeOperatorFixtures.swift"
    text = [
        "// Generated by Tests/Generators/shape_fixtures.py with numpy " + np.__version__ + ". Do not edit.",
        "",
        "/// A Slice of arange(shape) and the input positions numpy's slicing takes.",
        "struct SliceCase {",
        "    var shape: [Int]",
        "    var starts: [Int]",
        "    var ends: [Int]",
        "    var axes: [Int]?",
        "    var steps: [Int]?",
        "    var outputShape: [Int]",
        "    var output: [Int]",
        "}",
        "",
        "/// One run of an operator on a float input, with integer parameters and numpy's outputs.",
        "struct FixtureCase {",
        "    var op: String",
        "    var inputShape: [Int]",
        "    var input: [Double]",
        "    var ints: [String: [Int]]",
        "    var outputShapes: [[Int]]",
        "    var outputs: [[Double]]",
        "}",
        "",
        "enum ShapeOperatorFixtures {",
        "    static let slice: [SliceCase] = [",
        *slice_cases(),
        "    ]",
        "",
        "    static let cases: [FixtureCase] = [",
        *pad_cases(),
        *tile_cases(),
        *depth_space_cases(),
        *trilu_cases(),
        *topk_cases(),
        *cumsum_cases(),
        *gather_elements_cases(),
        *scatter_nd_cases(),
        *one_hot_cases(),
        *split_cases(),
        *nonzero_cases(),
        "    ]",
        "}",
        "",
    ]
    out.write_text("\n".join(text))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
