#!/usr/bin/env python3
"""Fits the polynomial coefficients used by Sources/Kiln/Kernels/MathApproximations.swift.

Each fit minimises the maximum relative error of the approximated function over its interval
(Lawson's iteratively reweighted least squares towards the minimax solution), in double precision,
against mpmath references. Run: python3 Scripts/fit_math_approximations.py (needs numpy, mpmath).
The printed error is the error of the polynomial itself; Float rounding adds about one ulp.
"""
import mpmath
import numpy as np

mpmath.mp.dps = 40


def lawson_fit(xs, target, basis, weight, iterations=400):
    """Coefficients c minimising max |sum(c_k basis_k(x)) - target(x)| * weight(x) over xs."""
    a = np.stack([b(xs) for b in basis], axis=1) * weight[:, None]
    y = target * weight
    w = np.ones_like(xs) / len(xs)
    for _ in range(iterations):
        sw = np.sqrt(w)
        c, *_ = np.linalg.lstsq(a * sw[:, None], y * sw, rcond=None)
        err = np.abs(a @ c - y)
        w = w * err
        w /= w.sum()
    return c, np.max(np.abs(a @ c - y))


def chebyshev_points(lo, hi, n=4000):
    k = np.arange(n)
    return (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / n)


def report(name, coefficients, error):
    print(f"{name}: max relative error {error:.3e}")
    for index, value in enumerate(coefficients):
        print(f"    c{index} = {float(np.float32(value))!r}  # {value!r}")


# exp(r) = 1 + r + r^2 * Q(r) on |r| <= ln2/2 (plus slack for the rounded reduction).
half_ln2 = 0.3466 + 1e-3
r = chebyshev_points(-half_ln2, half_ln2)
exact = np.array([float(mpmath.exp(v)) for v in r])
q_target = (exact - 1 - r) / r**2
basis = [lambda x, k=k: x**k for k in range(5)]
c, _ = lawson_fit(r, q_target, basis, r**2 / exact)
report("exp: Q(r) (degree 4)", c, np.max(np.abs((1 + r + r**2 * np.polyval(c[::-1], r)) - exact) / exact))

# log(m) = 2s + s * z * P(z), s = (m - 1) / (m + 1), z = s^2, m in [sqrt(1/2), sqrt(2)].
s_max = (np.sqrt(2) - 1) / (np.sqrt(2) + 1)
s = chebyshev_points(1e-6, s_max)
exact = np.array([float(2 * mpmath.atanh(v)) for v in s])
z = s**2
p_target = (exact - 2 * s) / (s * z)
basis = [lambda x, k=k: x**k for k in range(3)]
c, _ = lawson_fit(z, p_target, basis, s * z / exact)
report("log: P(z) (degree 2)", c, np.max(np.abs(2 * s + s * z * np.polyval(c[::-1], z) - exact) / exact))

# tanh(x) = x + x * z * P(z), z = x^2, |x| <= 0.625 (beyond it: 1 - 2 / (exp(2|x|) + 1)).
tanh_cut = 0.625
x = chebyshev_points(1e-6, tanh_cut)
exact = np.array([float(mpmath.tanh(v)) for v in x])
z = x**2
p_target = (exact - x) / (x * z)
basis = [lambda v, k=k: v**k for k in range(5)]
c, _ = lawson_fit(z, p_target, basis, x * z / exact)
report("tanh: P(z) (degree 4)", c, np.max(np.abs(x + x * z * np.polyval(c[::-1], z) - exact) / exact))

# erf(x) = x * P(z), z = x^2, |x| <= 0.9.
erf_cut = 0.9
x = chebyshev_points(1e-6, erf_cut)
exact = np.array([float(mpmath.erf(v)) for v in x])
z = x**2
basis = [lambda v, k=k: v**k for k in range(7)]
c, _ = lawson_fit(z, exact / x, basis, x / exact)
report("erf: P(z) (degree 6)", c, np.max(np.abs(x * np.polyval(c[::-1], z) - exact) / exact))

# erfc(x) = exp(-x^2) * R(t), t = 1 / (1 + x / 2), x in [0.9, 10]: R is erfcx, smooth in t.
x = chebyshev_points(erf_cut, 10.0)
t = 1 / (1 + x / 2)
exact = np.array([float(mpmath.erfc(v) * mpmath.exp(v * v)) for v in x])
basis = [lambda v, k=k: v**k for k in range(10)]
c, _ = lawson_fit(t, exact, basis, 1 / exact)
report("erfcx: R(t) (degree 9)", c, np.max(np.abs(np.polyval(c[::-1], t) - exact) / exact))

# Gelu's single path: erfc(x) = exp(-x^2) * R(t), t = 1 / (1 + x / 2), x in [0, 10.5].
x = chebyshev_points(0.0, 10.5)
t = 1 / (1 + x / 2)
exact = np.array([float(mpmath.erfc(v) * mpmath.exp(v * v)) for v in x])
c, _ = lawson_fit(t, exact, basis, 1 / exact)
report("erfcx for gelu: R(t) on [0, 10.5] (degree 9)", c, np.max(np.abs(np.polyval(c[::-1], t) - exact) / exact))
