#!/usr/bin/env python3
"""Prints the .npy byte vectors embedded in Tests/KilnTests/NumpyFormatTests.swift.

Each vector is the output of the numpy call in its comment (numpy 2.x; `np.save` layout:
header padded to 64 bytes with 21 spare digits for the first axis).
  python3 Scripts/make-npy-test-vectors.py
"""
import io
import numpy as np
import numpy.lib.format as fmt

def save(array, version=None, **kw):
    f = io.BytesIO()
    if version is None:
        np.save(f, array, **kw)
    else:
        fmt.write_array(f, array, version=version, **kw)
    return f.getvalue()

vectors = [
    ("float32", "np.save(f, np.array([[1.5, -2, 0], [3, 4.25, -0.0]], dtype='<f4'))",
     save(np.array([[1.5, -2, 0], [3, 4.25, -0.0]], dtype='<f4'))),
    ("float16", "np.save(f, np.array([1, -2.5, 65504], dtype='<f2'))", save(np.array([1, -2.5, 65504], dtype='<f2'))),
    ("int64", "np.save(f, np.array(-7, dtype='<i8'))", save(np.array(-7, dtype='<i8'))),
    ("int32", "np.save(f, np.array([2147483647, -1], dtype='<i4'))", save(np.array([2147483647, -1], dtype='<i4'))),
    ("int8", "np.save(f, np.array([[-128], [127]], dtype=np.int8))", save(np.array([[-128], [127]], dtype=np.int8))),
    ("uint8", "np.save(f, np.zeros((2, 0, 3), dtype=np.uint8))", save(np.zeros((2, 0, 3), dtype=np.uint8))),
    ("bool", "np.save(f, np.array([True, False, True]))", save(np.array([True, False, True]))),
    ("version2", "write_array(f, np.array([1.5], dtype='<f4'), version=(2, 0))",
     save(np.array([1.5], dtype='<f4'), version=(2, 0))),
    ("version3", "write_array(f, np.array([7], dtype='<i4'), version=(3, 0))",
     save(np.array([7], dtype='<i4'), version=(3, 0))),
    ("bigEndian", "np.save(f, np.array([1, 2], dtype='>f4'))", save(np.array([1, 2], dtype='>f4'))),
    ("fortran", "np.save(f, np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)))",
     save(np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)))),
    ("float64", "np.save(f, np.array([1.0]))", save(np.array([1.0]))),
    ("unicode", "np.save(f, np.array(['ab']))", save(np.array(['ab']))),
    ("object", "np.save(f, np.array([None], dtype=object), allow_pickle=True)",
     save(np.array([None], dtype=object), allow_pickle=True)),
]
for name, call, data in vectors:
    print(f"    /// `{call}`")
    print(f'    static let {name} = hex("{data.hex()}")')
