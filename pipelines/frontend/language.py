"""What an input is: its language, from a file suffix or from its content (bitcode magic)."""

from __future__ import annotations

from ..compile import SOURCE_LANGUAGES, detect_language

__all__ = ["LANGUAGES", "SOURCE_SUFFIX_BY_LANGUAGE", "detect_language", "detect_text_language",
           "is_bitcode"]

LANGUAGES = (*SOURCE_LANGUAGES, "ir")
"""Every input language: the compiled sources, then ``ir`` (``.ll`` text or ``.bc``)."""

SOURCE_SUFFIX_BY_LANGUAGE = {"c": ".c", "cpp": ".cpp", "opencl": ".cl", "cuda": ".cu"}
"""Source texts given in memory are written to a file with this suffix before compiling."""


def is_bitcode(data: bytes) -> bool:
    """Whether ``data`` starts with LLVM bitcode's magic (raw, or the Darwin wrapper)."""
    from ..ir.normalize import BITCODE_MAGICS

    return data[:4] in BITCODE_MAGICS


def detect_text_language(text: str | bytes) -> str:
    """``ir`` for LLVM IR (text with ``define``/``target triple``/``declare``, or bitcode),
    else ``c``."""
    if isinstance(text, bytes):
        if is_bitcode(text):
            return "ir"
        text = text.decode("utf-8", errors="replace")
    head = text[:20000]
    if ("target triple" in head or "target datalayout" in head or "\ndefine " in "\n" + head
            or "\ndeclare " in "\n" + head or "; ModuleID" in head):
        return "ir"
    return "c"
