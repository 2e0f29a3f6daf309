"""Documented repairs of published IR files that newer LLVM releases reject."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["repair_untyped_byval", "repair_ir_file"]

# LLVM <= 10 wrote `%T* byval`; LLVM >= 11 requires the pointee type: `%T* byval(%T)`.
# Only one published DevMap file (rodinia-3.1-lavaMD-kernel_gpu_opencl.ll) needs it.
_UNTYPED_BYVAL = re.compile(r"(%[-A-Za-z0-9_.$]+|i\d+|float|double|half)\* byval(?!\()")


def repair_untyped_byval(text: str) -> tuple[str, int]:
    """Rewrites ``T* byval`` to ``T* byval(T)``.

    Returns:
        The repaired text and the number of rewritten arguments (0 when nothing was needed).
    """
    return _UNTYPED_BYVAL.subn(lambda m: f"{m.group(1)}* byval({m.group(1)})", text)


def repair_ir_file(path: Path) -> int:
    """Applies :func:`repair_untyped_byval` to a textual ``.ll`` file in place.

    Returns:
        The number of rewritten arguments.
    """
    text = path.read_text(errors="replace")
    repaired, count = repair_untyped_byval(text)
    if count:
        path.write_text(repaired)
    return count
