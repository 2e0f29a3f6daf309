"""The unit that featurizers see: one program (an IR or bitcode file) of an evaluation task."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["EvalProgram"]


@dataclass(frozen=True, slots=True)
class EvalProgram:
    """One program of an evaluation task.

    Attributes:
        key: unique id within the task (e.g. ``npb-3.3-BT-add_A``).
        kernel: the kernel it belongs to; rows of one kernel share it (the grouping unit of
            the leakage-free protocols and the label of the kernel-identity control).
        path: the LLVM IR (``.ll``, textual) or bitcode (``.bc``) file.
    """

    key: str
    kernel: str
    path: Path
