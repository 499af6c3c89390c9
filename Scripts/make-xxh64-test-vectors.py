#!/usr/bin/env python3
"""Prints the XXH64 test vectors pinned in Tests/KilnTests/FormatChecksumTests.swift.

Reference: the `xxhash` PyPI package (bindings to the reference C implementation).
  pip install xxhash && python3 Scripts/make-xxh64-test-vectors.py
"""
import xxhash

def pattern(count):
    # The same deterministic bytes the Swift test builds: (i * 31 + 7) mod 256.
    return bytes((i * 31 + 7) & 0xFF for i in range(count))

for text in [b"", b"a", b"abc", b"The quick brown fox jumps over the lazy dog"]:
    print(f"string {text!r}: 0x{xxhash.xxh64_intdigest(text, 0):016X}")

buffer = pattern(1000)
for count in [0, 1, 3, 4, 7, 8, 9, 31, 32, 33, 63, 64, 100, 1000]:
    plain = xxhash.xxh64_intdigest(buffer[:count], 0)
    seeded = xxhash.xxh64_intdigest(buffer[:count], 0x9E3779B185EBCA87)
    print(f"({count}, 0x{plain:016X}, 0x{seeded:016X}),")

# The .kiln section checksum: XXH64 of the little-endian XXH64s of 1 MiB chunks.
chunk = 1 << 20
# 5 MiB + 7 bytes: two workers each hash pairs of whole chunks, and one a short last chunk.
for count in [0, 5, chunk, chunk * 2 + chunk // 2 + 3, chunk * 5 + 7]:
    data = pattern(count)
    hashes = b"".join(xxhash.xxh64_intdigest(data[i:i + chunk], 0).to_bytes(8, "little")
                      for i in range(0, count, chunk))
    print(f"chunked ({count}, 0x{xxhash.xxh64_intdigest(hashes, 0):016X}),")
