"""Reads a safetensors file's header (tensor names, dtypes, shapes, offsets) without its data.

Layout: an 8-byte little-endian header length ``N``, ``N`` bytes of JSON
(``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}``), then
the tensor data. :func:`read_weights_header` checks that the JSON is well formed and that
the offsets tile the data section exactly, so the file's size is what the header says.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from math import prod
from pathlib import Path

from ...infra.errors import FatalError

__all__ = ["TensorEntry", "DTYPE_BYTES", "MAX_HEADER_BYTES", "read_weights_header"]

DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
               "U8": 1, "BOOL": 1}
# safetensors itself refuses headers above 100 MB.
MAX_HEADER_BYTES = 100_000_000


@dataclass(frozen=True, slots=True)
class TensorEntry:
    """One tensor of the header."""

    dtype: str
    shape: tuple[int, ...]
    nbytes: int


def read_weights_header(path: str | Path) -> dict[str, TensorEntry]:
    """``{name: TensorEntry}`` of a safetensors file, read from its header only.

    Raises:
        FatalError: not a safetensors file, a malformed header, unknown dtypes, or offsets
            that do not tile the data section.
    """
    path = Path(path)
    size = path.stat().st_size

    def bad(why: str) -> FatalError:
        return FatalError(f"corrupt weights file {path}: {why}")

    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise bad("shorter than a safetensors header")
        (length,) = struct.unpack("<Q", head)
        if length > min(MAX_HEADER_BYTES, size - 8):
            raise bad(f"header length {length} does not fit the file ({size} bytes)")
        try:
            header = json.loads(handle.read(length))
        except (ValueError, UnicodeDecodeError) as error:
            raise bad(f"header is not JSON ({error})") from error
    if not isinstance(header, dict):
        raise bad("header is not a JSON object")
    header.pop("__metadata__", None)
    entries, spans = {}, []
    for name, spec in header.items():
        try:
            dtype, shape, (begin, end) = spec["dtype"], spec["shape"], spec["data_offsets"]
            ok = (dtype in DTYPE_BYTES and isinstance(begin, int) and isinstance(end, int)
                  and all(isinstance(d, int) and d >= 0 for d in shape))
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise bad(f"tensor {name!r} has a malformed entry {str(spec)[:200]}")
        nbytes = prod(shape) * DTYPE_BYTES[dtype]
        if end - begin != nbytes:
            raise bad(f"tensor {name!r}: offsets {begin}..{end} do not hold {dtype} {shape}")
        entries[name] = TensorEntry(dtype, tuple(shape), nbytes)
        spans.append((begin, end))
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise bad("tensor data overlaps or leaves gaps")
        position = end
    if position != size - 8 - length:
        raise bad(f"the header describes {position} data bytes, the file holds "
                  f"{size - 8 - length}")
    return entries
