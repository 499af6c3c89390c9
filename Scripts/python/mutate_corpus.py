#!/usr/bin/env python3
"""Writes N damaged copies of a file, for feeding `kiln inspect` / `kiln run` / `kiln convert`.

Each copy gets one mutation (or a short stack of them) chosen from:

    truncate     cut the file at a random offset (often inside the first 64 bytes or the last 64)
    bitflip      flip one bit
    bitflips     flip 2-16 bits
    field        overwrite a 4- or 8-byte field (often in the first 256 bytes, often aligned) with
                 0, all-ones, INT_MAX/INT_MIN patterns, 2^32, 2^40, the file size +/- 1, or random,
                 little-endian mostly, sometimes big-endian
    ffrun        overwrite 1-16 bytes with 0xFF (endless protobuf varints, huge lengths)
    swap         swap two non-overlapping chunks
    delete       remove a chunk
    duplicate    insert a copy of a chunk somewhere else
    stack        2-4 of the above, applied in turn

Mutant i depends only on (seed, i) and the input bytes, so any single mutant can be regenerated
from the manifest (`<stem>.manifest.tsv` in the output folder: index, file, kind, details).
Running again with the same arguments writes identical files; earlier mutants of the same input
stem in the output folder are removed first so the folder holds exactly this run.

Usage:
    $PY Scripts/python/mutate_corpus.py Fixtures/mlp/model.onnx 500 --out fuzz-out/mlp-onnx
    $PY Scripts/python/mutate_corpus.py model.kiln 200 --out fuzz-out/kiln --seed 7 --kinds truncate,field
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import sys
from pathlib import Path

FIELD_VALUES = {
    "zero": 0,
    "u32max": 0xFFFFFFFF,
    "i32max": 0x7FFFFFFF,
    "i32min": 0x80000000,
    "u64max": 0xFFFFFFFFFFFFFFFF,
    "i64max": 0x7FFFFFFFFFFFFFFF,
    "i64min": 0x8000000000000000,
    "2^32": 1 << 32,
    "2^40": 1 << 40,
}

# Relative frequency of each single mutation kind; "stack" combines several of the others.
KIND_WEIGHTS = {
    "truncate": 22,
    "bitflip": 15,
    "bitflips": 10,
    "field": 25,
    "ffrun": 6,
    "swap": 7,
    "delete": 4,
    "duplicate": 3,
    "stack": 8,
}
STACKABLE = [k for k in KIND_WEIGHTS if k not in ("stack", "truncate")]


def pick_offset(rng: random.Random, length: int, header_bias: float = 0.4) -> int:
    """An offset in [0, length), biased towards the start where headers and lengths live."""
    if rng.random() < header_bias:
        return rng.randrange(min(length, 256))
    return rng.randrange(length)


def chunk_length(rng: random.Random, length: int) -> int:
    limit = max(1, min(length // 2, 4096))
    # Log-uniform: mostly short chunks, sometimes long ones.
    return max(1, min(limit, int(2 ** rng.uniform(0, limit.bit_length()))))


def truncate(rng: random.Random, data: bytearray) -> tuple[bytearray, str]:
    length = len(data)
    roll = rng.random()
    if roll < 0.3:
        cut = rng.randrange(min(length, 64))
    elif roll < 0.5:
        cut = max(0, length - 1 - rng.randrange(min(length, 64)))
    else:
        cut = rng.randrange(length)
    return data[:cut], f"cut at {cut} of {length}"


def bitflip(rng: random.Random, data: bytearray) -> tuple[bytearray, str]:
    offset, bit = pick_offset(rng, len(data)), rng.randrange(8)
    data[offset] ^= 1 << bit
    return data, f"bit {bit} of byte {offset}"


def bitflips(rng: random.Random, data: bytearray) -> tuple[bytearray, str]:
    flips = []
    for _ in range(rng.randint(2, 16)):
        offset, bit = pick_offset(rng, len(data)), rng.randrange(8)
        data[offset] ^= 1 << bit
        flips.append(f"{offset}.{bit}")
    return data, "bits " + ",".join(flips)


def field(rng: random.Random, data: bytearray) -> tuple[bytearray, str]:
    width = rng.choice((4, 8))
    if len(data) < width:
        data, details = bitflip(rng, data)
        return data, f"file shorter than {width} bytes, so flipped {details}"
    offset = pick_offset(rng, len(data) - width + 1, header_bias=0.6)
    if rng.random() < 0.5:
        offset -= offset % width
    roll = rng.random()
    if roll < 0.15:
        label = "filesize" + rng.choice(("", "+1", "-1"))
        value = len(data) + {"": 0, "+1": 1, "-1": -1}[label[8:]]
    elif roll < 0.25:
        label, value = "random", rng.getrandbits(width * 8)
    else:
        label = rng.choice(list(FIELD_VALUES))
        value = FIELD_VALUES[label]
    value &= (1 << (width * 8)) - 1
    order = "big" if rng.random() < 0.1 else "little"
    data[offset:offset + width] = value.to_bytes(width, order)
    return data, f"{width} bytes at {offset} = {label} ({order}-endian)"


def ffrun(rng: random.Random, data: bytearray) -> tuple[bytearray, str]:
    offset = pick_offset(rng, len(data))
    count = min(rng.randint(1, 16), len(data) - offset)
    data[offset:offset + count] = b"\xff" * count
    return data, f"{count} x 0xFF at {offset}"


def swap(rng: random.Random, data: bytearray) -> tuple[bytearray, str]:
    if len(data) < 2:
        data, details = bitflip(rng, data)
        return data, f"file shorter than 2 bytes, so flipped {details}"
    size = chunk_length(rng, len(data))
    first = rng.randrange(len(data) - 2 * size + 1)
    second = rng.randrange(first + size, len(data) - size + 1)
    a, b = bytes(data[first:first + size]), bytes(data[second:second + size])
    data[first:first + size], data[second:second + size] = b, a
    return data, f"swapped {size} bytes at {first} and {second}"


def delete(rng: random.Random, data: bytearray) -> tuple[bytearray, str]:
    size = chunk_length(rng, len(data))
    start = rng.randrange(len(data) - size + 1)
    del data[start:start + size]
    return data, f"deleted {size} bytes at {start}"


def duplicate(rng: random.Random, data: bytearray) -> tuple[bytearray, str]:
    size = chunk_length(rng, len(data))
    start = rng.randrange(len(data) - size + 1)
    where = rng.randrange(len(data) + 1)
    data[where:where] = data[start:start + size]
    return data, f"copied {size} bytes from {start} to {where}"


MUTATORS = {
    "truncate": truncate,
    "bitflip": bitflip,
    "bitflips": bitflips,
    "field": field,
    "ffrun": ffrun,
    "swap": swap,
    "delete": delete,
    "duplicate": duplicate,
}


def stack(rng: random.Random, data: bytearray) -> tuple[bytearray, str]:
    steps = []
    for _ in range(rng.randint(2, 4)):
        if not data:
            break
        kind = rng.choice(STACKABLE)
        data, details = MUTATORS[kind](rng, data)
        steps.append(f"{kind}: {details}")
    if data and rng.random() < 0.3:
        data, details = truncate(rng, data)
        steps.append(f"truncate: {details}")
    return data, "; ".join(steps)


MUTATORS["stack"] = stack


def mutant(original: bytes, seed: int, index: int, kinds: list[str]) -> tuple[bytes, str, str]:
    """Mutant number `index`: (bytes, kind, details). Never identical to the original."""
    rng = random.Random(f"kiln-mutate:{seed}:{index}")
    weights = [KIND_WEIGHTS[k] for k in kinds]
    for _ in range(32):
        kind = rng.choices(kinds, weights)[0]
        data, details = MUTATORS[kind](rng, bytearray(original))
        if bytes(data) != original:
            return bytes(data), kind, details
    # Only reachable for tiny inputs where, e.g., a swap keeps picking equal bytes.
    return original[:-1], "truncate", f"cut at {len(original) - 1} of {len(original)} (fallback)"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="file to mutate (e.g. model.onnx, model.kiln, x.npy)")
    parser.add_argument("count", type=int, help="number of mutants to write")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kinds", default=",".join(KIND_WEIGHTS),
                        help=f"comma-separated subset of: {', '.join(KIND_WEIGHTS)} (default: all)")
    args = parser.parse_args(argv)

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KIND_WEIGHTS]
    if unknown or not kinds:
        parser.error(f"unknown mutation kind(s): {', '.join(unknown) or '(none given)'}")
    if args.count < 0:
        parser.error("count must be >= 0")
    original = args.file.read_bytes()
    if not original:
        parser.error(f"{args.file} is empty; there is nothing to mutate")

    stem, suffix = args.file.stem, args.file.suffix
    args.out.mkdir(parents=True, exist_ok=True)
    own_file = re.compile(rf"{re.escape(stem)}\.\d{{5,}}\.[a-z0-9]+{re.escape(suffix)}")
    for old in args.out.iterdir():
        if old.is_file() and own_file.fullmatch(old.name):
            old.unlink()

    manifest = [f"# source {args.file} ({len(original)} bytes, sha256 {hashlib.sha256(original).hexdigest()}) "
                f"seed {args.seed} kinds {','.join(kinds)}", "index\tfile\tkind\tsize\tdetails"]
    tally: dict[str, int] = {}
    for index in range(args.count):
        data, kind, details = mutant(original, args.seed, index, kinds)
        name = f"{stem}.{index:05d}.{kind}{suffix}"
        (args.out / name).write_bytes(data)
        manifest.append(f"{index}\t{name}\t{kind}\t{len(data)}\t{details}")
        tally[kind] = tally.get(kind, 0) + 1
    (args.out / f"{stem}.manifest.tsv").write_text("\n".join(manifest) + "\n")
    summary = ", ".join(f"{kind} {count}" for kind, count in sorted(tally.items()))
    print(f"wrote {args.count} mutants of {args.file} to {args.out} ({summary or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
