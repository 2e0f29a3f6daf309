"""Documented repairs of published IR files that newer LLVM releases reject."""

from __future__ import annotations

import re
from pathlib import Path

from ...infra.files import write_text_atomic

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


def repair_ir_file(path: Path, out_dir: Path) -> tuple[Path, int]:
    """Returns a repaired copy of a textual ``.ll`` file, leaving the original untouched.

    Args:
        path: the published file.
        out_dir: where a repaired copy is written (same name) when one is needed.

    Returns:
        The path to use (the copy, or ``path`` itself when nothing needed repair) and the
        number of rewritten arguments.
    """
    text = path.read_text(errors="replace")
    repaired, count = repair_untyped_byval(text)
    if not count:
        return path, 0
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / path.name
    if not target.exists() or target.read_text() != repaired:
        write_text_atomic(target, repaired)
    return target, count
