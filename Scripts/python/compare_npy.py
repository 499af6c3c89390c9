#!/usr/bin/env python3
"""Compares two .npy files elementwise and exits non-zero when they differ beyond tolerance.

    $PY Scripts/python/compare_npy.py ACTUAL.npy EXPECTED.npy [--rtol 1e-4] [--atol 1e-5]

Same rule as KilnTestSupport's `Comparison` (numpy `isclose`, tolerance relative to EXPECTED):
an element matches when |actual - expected| <= atol + rtol * |expected|; NaN matches only NaN;
equal infinities match. Integer and bool arrays must be exactly equal. Shapes and dtypes must
match (--ignore-dtype compares values of different dtypes anyway).

Prints max abs error, max rel error (over elements where expected != 0), the mismatch count, the
worst element and the first mismatch. Exit status: 0 match, 1 mismatch, 2 unreadable input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def load(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        print(f"compare_npy: cannot read {path}: {error}", file=sys.stderr)
        sys.exit(2)


def index_text(flat_index: int, shape: tuple[int, ...]) -> str:
    return str(tuple(int(i) for i in np.unravel_index(flat_index, shape))) if shape else "()"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("actual", type=Path)
    parser.add_argument("expected", type=Path)
    parser.add_argument("--rtol", type=float, default=1e-4)
    parser.add_argument("--atol", type=float, default=1e-5)
    parser.add_argument("--ignore-dtype", action="store_true", help="compare values even if dtypes differ")
    args = parser.parse_args(argv)

    actual, expected = load(args.actual), load(args.expected)
    label = f"{args.actual} vs {args.expected}"
    if actual.shape != expected.shape:
        print(f"MISMATCH {label}: shape {list(actual.shape)} vs expected {list(expected.shape)}")
        return 1
    if actual.dtype != expected.dtype and not args.ignore_dtype:
        print(f"MISMATCH {label}: dtype {actual.dtype} vs expected {expected.dtype}")
        return 1

    exact = all(a.dtype.kind in "biu" for a in (actual, expected))
    if exact:
        mismatched = (actual != expected).ravel()
        error = np.abs(actual.astype(np.float64) - expected.astype(np.float64)).ravel()
        relative = np.zeros_like(error)
    else:
        a = actual.astype(np.float64).ravel()
        e = expected.astype(np.float64).ravel()
        a_nan, e_nan = np.isnan(a), np.isnan(e)
        both_finite = np.isfinite(a) & np.isfinite(e)
        with np.errstate(invalid="ignore", over="ignore"):
            same = (a == e) | (a_nan & e_nan)  # also equal infinities
            # Non-finite values match only themselves: with an infinite `expected`, the tolerance
            # rtol * |expected| would otherwise accept any finite value.
            error = np.where(~same & ~a_nan & ~e_nan, np.abs(a - e), 0.0)
            within = both_finite & (error <= args.atol + args.rtol * np.abs(e))
        mismatched = ~same & ~within
        nonzero = (e != 0) & both_finite
        relative = np.zeros_like(error)
        relative[nonzero] = error[nonzero] / np.abs(e[nonzero])

    count = int(mismatched.sum())
    flat_actual, flat_expected = actual.ravel(), expected.ravel()
    finite_error = np.where(np.isfinite(error), error, 0.0)
    lines = [f"{label}: {actual.size} elements {actual.dtype}{list(actual.shape)}, "
             f"max abs err {error.max(initial=0.0):.3e}, max rel err {relative.max(initial=0.0):.3e}, "
             f"{count} mismatches" + ("" if exact else f" at rtol {args.rtol:g} atol {args.atol:g}")]
    if actual.size and finite_error.max() > 0:
        worst = int(finite_error.argmax())
        lines.append(f"  worst at {index_text(worst, actual.shape)}: {flat_actual[worst].item()!r} vs expected "
                     f"{flat_expected[worst].item()!r}")
    if count:
        first = int(np.flatnonzero(mismatched)[0])
        lines.append(f"  first mismatch at {index_text(first, actual.shape)}: {flat_actual[first].item()!r} vs expected "
                     f"{flat_expected[first].item()!r}")
    print(("MISMATCH " if count else "OK ") + "\n".join(lines))
    return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
