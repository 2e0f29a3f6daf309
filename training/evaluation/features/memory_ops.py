"""Control: how many loads, stores and atomics a program has in each address space.

Grewe et al.'s device-mapping features count memory accesses (global, local, coalesced) from
the OpenCL source; this is the part of them the IR gives directly: the address space of each
access's pointer (SPIR: 0 private/generic, 1 global, 2 constant, 3 local). IR without address
spaces (the 669-row set was compiled for a CPU target) counts everything in space 0, so there
the control is the number of loads and stores.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..programs import EvalProgram
from .opcode_histogram import ir_text_rows

__all__ = ["MEMORY_OPS", "ADDRESS_SPACES", "memory_op_counts", "MemoryOpsFeaturizer"]

MEMORY_OPS = ("load", "store", "atomic")
ADDRESS_SPACES = ("0", "1", "2", "3", "other")
"""Columns per operation: spaces 0-3 as SPIR numbers them, any other pooled."""

_ACCESS = re.compile(r"^\s*(?:%\S+\s*=\s*)?(load|store|atomicrmw|cmpxchg)\b(.*)$")
_SPACE = re.compile(r"\bptr addrspace\((\d+)\)|\baddrspace\((\d+)\)\*")


def _space(operands: str, *, address_first: bool) -> str:
    """The address space of an access's pointer operand: the last pointer type of a load or
    store (its address comes after any pointer-typed value), the first of an atomic."""
    found = [a or b for a, b in _SPACE.findall(operands)]
    if not found:
        return "0"
    space = found[0] if address_first else found[-1]
    return space if space in ADDRESS_SPACES else "other"


def memory_op_counts(ir_text: str) -> Counter[str]:
    """``Counter`` of ``"<op>:<space>"`` (op in :data:`MEMORY_OPS`) over textual IR of any
    LLVM version (opaque ``ptr addrspace(N)`` or typed ``T addrspace(N)*`` pointers)."""
    counts: Counter[str] = Counter()
    for line in ir_text.splitlines():
        match = _ACCESS.match(line)
        if match is None:
            continue
        op = match.group(1)
        atomic = op in ("atomicrmw", "cmpxchg")
        space = _space(match.group(2), address_first=atomic)
        counts[f"{'atomic' if atomic else op}:{space}"] += 1
    return counts


class MemoryOpsFeaturizer:
    """``log1p`` counts of loads, stores and atomics per address space (15 columns)."""

    name = "memory-ops"
    description = ("log1p counts of loads, stores and atomics per address space (0, 1 global, "
                   "2 constant, 3 local, other), 15 columns, from the normalised IR")

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def featurize(self, programs: Sequence[EvalProgram]) -> np.ndarray:
        columns = [f"{op}:{space}" for op in MEMORY_OPS for space in ADDRESS_SPACES]

        def row(text: str) -> np.ndarray:
            counts = memory_op_counts(text)
            return np.log1p([counts[c] for c in columns])

        out, self.errors = ir_text_rows(programs, len(columns), row)
        return out
