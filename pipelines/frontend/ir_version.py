"""Which LLVM wrote an IR input: read from bitcode, estimated from text.

- Bitcode: the producer string of the identification block (``LLVM14.0.6``, ``LLVM22.1.8``),
  which every LLVM since 3.8 writes first; read with a small bitstream reader (no LLVM
  needed, since llvmlite's LLVM would upgrade the module and hide its age).
- Text (``.ll``): exact when ``!llvm.ident`` names the clang that wrote it (``clang version
  22.1.8``) and no syntax below says newer; otherwise a *heuristic lower bound* from syntax
  older versions lack (opaque
  ``ptr`` types: 15, ``memory(...)``: 16, ``or disjoint`` / ``zext nneg``: 18,
  ``getelementptr ... nuw`` / ``#dbg_value`` records / ``trunc nuw``: 19, ``icmp samesign``:
  20, ``captures(...)``: 21), recorded as ``>=N``; with neither, unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["IRVersion", "ir_llvm_version", "bitcode_producer", "is_newer", "version_major"]


@dataclass(frozen=True, slots=True)
class IRVersion:
    """The LLVM version that wrote an IR input, as far as it can be read."""

    version: str | None
    """``22.1.8`` (bitcode producer or ``!llvm.ident``), ``>=19`` (a lower bound from text
    syntax: a heuristic), or None when unknown."""
    major: int | None
    """Its major version (the lower bound's, for ``>=N``)."""
    source: str
    """``bitcode``, ``ident``, ``syntax`` or ``unknown``: where the version was read."""


_UNKNOWN = IRVersion(None, None, "unknown")
_WRAPPER_MAGIC = b"\xde\xc0\x17\x0b"
_RAW_MAGIC = b"BC\xc0\xde"
_IDENTIFICATION_BLOCK = 13
_CHAR6 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._"
_PRODUCER = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def ir_llvm_version(data: bytes) -> IRVersion:
    """The LLVM version of IR bytes (bitcode or text); never raises."""
    if data[:4] in (_RAW_MAGIC, _WRAPPER_MAGIC):
        producer = bitcode_producer(data)
        match = _PRODUCER.search(producer or "")
        if match is None:
            return _UNKNOWN
        return IRVersion(match.group(0), int(match.group(1)), "bitcode")
    return _text_version(data.decode("utf-8", errors="replace"))


def is_newer(version: IRVersion, pinned_major: int) -> bool:
    """Whether an input's IR comes from an LLVM newer than the pinned one (unknown: no)."""
    return version.major is not None and version.major > pinned_major


def version_major(version: str | None) -> int | None:
    """The major version of an :attr:`IRVersion.version` string (``22.1.8`` or ``>=19``)."""
    match = re.match(r"(?:>=)?(\d+)", version or "")
    return int(match.group(1)) if match else None


# ---------------------------------------------------------------------------------- text

_IDENT = re.compile(r'^!\d+\s*=\s*!\{!"[^"\n]*?clang version (\d+)\.(\d+)(?:\.(\d+))?', re.M)
# (major version that introduced it, pattern) — newest first.
_SYNTAX = (
    (21, re.compile(r"\bcaptures\((?:none|address|provenance|read_provenance)")),
    (20, re.compile(r"\bicmp samesign\b")),
    (19, re.compile(r"\bgetelementptr(?: inbounds)? (?:nuw|nusw)\b|#dbg_(?:value|declare|assign)\(|"
                    r"\btrunc (?:nuw|nsw)\b")),
    (18, re.compile(r"\bor disjoint\b|\b(?:zext|uitofp) nneg\b")),
    (16, re.compile(r"\bmemory\((?:none|read|write|readwrite|argmem|inaccessiblemem)")),
    (15, re.compile(r"(?:^|[\s(,<{\[])ptr(?=[\s,)>}\]*])")),
)


def _text_version(text: str) -> IRVersion:
    bound = next((major for major, pattern in _SYNTAX if pattern.search(text)), None)
    idents = [(int(a), int(b), int(c or 0)) for a, b, c in _IDENT.findall(text)]
    if idents and (bound is None or max(idents)[0] >= bound):
        major, minor, patch = max(idents)
        return IRVersion(f"{major}.{minor}.{patch}", major, "ident")
    if bound is not None:  # also a module of an older clang printed again by a newer LLVM
        return IRVersion(f">={bound}", bound, "syntax")
    return _UNKNOWN


# ------------------------------------------------------------------------------- bitcode


class _Bits:
    """LSB-first bit reader over a bitstream (LLVM's 32-bit little-endian word order)."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def read(self, width: int) -> int:
        if width == 0:
            return 0
        start, end = self.pos >> 3, (self.pos + width + 7) >> 3
        if end > len(self.data):
            raise EOFError("bitcode ends inside the identification block")
        value = int.from_bytes(self.data[start:end], "little") >> (self.pos & 7)
        self.pos += width
        return value & ((1 << width) - 1)

    def vbr(self, width: int) -> int:
        value, shift, high = 0, 0, 1 << (width - 1)
        while True:
            chunk = self.read(width)
            value |= (chunk & (high - 1)) << shift
            if not chunk & high:
                return value
            shift += width - 1
            if shift > 64:
                raise ValueError("VBR value too long")

    def align32(self) -> None:
        self.pos = (self.pos + 31) & ~31


def bitcode_producer(data: bytes) -> str | None:
    """The identification block's producer string (``LLVM22.1.8``), or None when absent or
    unreadable."""
    if data[:4] == _WRAPPER_MAGIC and len(data) >= 20:
        offset = int.from_bytes(data[8:12], "little")
        size = int.from_bytes(data[12:16], "little")
        data = data[offset:offset + size]
    if data[:4] != _RAW_MAGIC:
        return None
    bits = _Bits(data[4:])
    try:
        for _ in range(8):  # top-level blocks; the identification block comes first
            if bits.read(2) != 1:  # ENTER_SUBBLOCK
                return None
            block = bits.vbr(8)
            width = bits.vbr(4)
            bits.align32()
            words = bits.read(32)
            if block == _IDENTIFICATION_BLOCK:
                return _identification(bits, width)
            bits.pos += 32 * words
    except (EOFError, ValueError, IndexError):
        return None
    return None


def _identification(bits: _Bits, width: int) -> str | None:
    abbrevs: list[list[tuple]] = []
    while True:
        code = bits.read(width)
        if code == 0:  # END_BLOCK
            return None
        if code == 1:  # a nested block: not expected here
            return None
        if code == 2:  # DEFINE_ABBREV
            abbrevs.append(_define_abbrev(bits))
            continue
        if code == 3:  # UNABBREV_RECORD
            record = bits.vbr(6)
            ops = [bits.vbr(6) for _ in range(bits.vbr(6))]
        else:
            fields = _abbreviated(bits, abbrevs[code - 4])
            record, ops = fields[0], fields[1:]
        if record == 1:  # IDENTIFICATION_CODE_STRING
            return "".join(chr(op) for op in ops if 0 < op < 128)


def _define_abbrev(bits: _Bits) -> list[tuple]:
    ops = []
    count = bits.vbr(5)
    while len(ops) < count:
        if bits.read(1):
            ops.append(("literal", bits.vbr(8)))
            continue
        encoding = bits.read(3)
        ops.append((encoding, bits.vbr(5)) if encoding in (1, 2) else (encoding, 0))
    return ops


def _scalar(bits: _Bits, op: tuple) -> int:
    kind, value = op
    if kind == "literal":
        return value
    if kind == 1:
        return bits.read(value)
    if kind == 2:
        return bits.vbr(value)
    if kind == 4:
        return ord(_CHAR6[bits.read(6)])
    raise ValueError(f"unexpected abbreviation operand {op}")


def _abbreviated(bits: _Bits, abbrev: list[tuple]) -> list[int]:
    fields: list[int] = []
    i = 0
    while i < len(abbrev):
        kind = abbrev[i][0]
        if kind == 3:  # Array: a count, then elements of the next operand's kind
            element = abbrev[i + 1]
            fields += [_scalar(bits, element) for _ in range(bits.vbr(6))]
            i += 2
        elif kind == 5:  # Blob
            length = bits.vbr(6)
            bits.align32()
            start = bits.pos >> 3
            fields += list(bits.data[start:start + length])
            bits.pos += 8 * length
            bits.align32()
            i += 1
        else:
            fields.append(_scalar(bits, abbrev[i]))
            i += 1
    return fields
