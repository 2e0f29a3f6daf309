"""The loop vectoriser's decisions, read from clang's optimisation record (YAML).

clang 14 at ``-O3`` emits, per loop it considers, one terminal remark of pass
``loop-vectorize``: ``Passed/Vectorized`` (with ``VectorizationFactor`` and
``InterleaveCount``), ``Passed/Interleaved`` (interleaved only: VF 1), ``Missed/MissedDetails``
(not legal: "loop not vectorized"), or ``Missed/Vectoriz*`` (the cost model declined both;
its ``Missed/Interleaving*`` twin is not counted again). These are the same remarks
``-Rpass=loop-vectorize -Rpass-missed=loop-vectorize`` prints, plus the enclosing function.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = ["LoopRemark", "LoopDecision", "parse_optimization_record", "loop_decisions",
           "program_decision", "DECISION_REASONS"]

DECISION_REASONS = ("no_loop_decision", "several_loops", "inconsistent_copies")
"""Why a program has no label: no decided loop outside the excluded functions, more than one
source loop, or copies of its one loop (unrolled, inlined) decided differently."""


class _RecordLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader that accepts the record's ``!Passed``/``!Missed``/``!Analysis`` tags."""


_RecordLoader.add_multi_constructor(
    "!", lambda loader, suffix, node: {**loader.construct_mapping(node, deep=True),
                                       "Kind": suffix})


@dataclass(frozen=True, slots=True)
class LoopRemark:
    """One terminal remark of the loop vectoriser."""

    function: str
    location: tuple[str, int, int] | None  # (file, line, column)
    vectorized: bool
    vf: int
    ic: int


@dataclass(frozen=True, slots=True)
class LoopDecision:
    """What LLVM decided for a loop at -O3: vectorised?, width (1 = scalar), interleave count."""

    vectorized: bool
    vf: int
    ic: int

    def labels(self) -> dict[str, str]:
        """Class labels of the three tasks."""
        return {"vectorized": "yes" if self.vectorized else "no", "vf": str(self.vf),
                "ic": str(self.ic)}


def _args(doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry in doc.get("Args") or ():
        if isinstance(entry, dict):
            out.update(entry)
    return out


def _int(value: Any, default: int = 1) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return default


def _terminal(doc: dict[str, Any]) -> tuple[bool, int, int] | None:
    kind, name = doc.get("Kind"), str(doc.get("Name", ""))
    if kind == "Passed" and name == "Vectorized":
        args = _args(doc)
        return True, _int(args.get("VectorizationFactor")), _int(args.get("InterleaveCount"))
    if kind == "Passed" and name == "Interleaved":
        return False, 1, _int(_args(doc).get("InterleaveCount"))
    if kind == "Missed" and (name == "MissedDetails" or name.startswith("Vectoriz")):
        return False, 1, 1
    return None


def parse_optimization_record(text: str) -> list[LoopRemark]:
    """The terminal loop-vectorize remarks of one optimisation record, in file order."""
    remarks = []
    for doc in yaml.load_all(text, Loader=_RecordLoader):
        if not isinstance(doc, dict) or doc.get("Pass") != "loop-vectorize":
            continue
        outcome = _terminal(doc)
        if outcome is None:
            continue
        loc = doc.get("DebugLoc")
        location = ((str(loc.get("File", "")), int(loc.get("Line", 0)), int(loc.get("Column", 0)))
                    if isinstance(loc, dict) else None)
        remarks.append(LoopRemark(str(doc.get("Function", "")), location, *outcome))
    return remarks


def loop_decisions(remarks: Iterable[LoopRemark], exclude_functions: Sequence[str] = ("main",)
                   ) -> dict[tuple[str, int, int] | None, set[LoopDecision]]:
    """Source loop (file, line, column) -> the distinct decisions of its copies, leaving out
    loops in ``exclude_functions`` (copies inlined there included)."""
    out: dict[tuple[str, int, int] | None, set[LoopDecision]] = {}
    for remark in remarks:
        if remark.function in exclude_functions:
            continue
        out.setdefault(remark.location, set()).add(
            LoopDecision(remark.vectorized, remark.vf, remark.ic))
    return out


def program_decision(remarks: Iterable[LoopRemark], exclude_functions: Sequence[str] = ("main",)
                     ) -> tuple[LoopDecision | None, str | None]:
    """The program's label: the decision of its only source loop, or why there is none.

    Returns:
        ``(decision, None)`` when exactly one source loop outside ``exclude_functions`` was
        decided and all its copies agree; else ``(None, reason)`` with a reason of
        :data:`DECISION_REASONS`.
    """
    loops = loop_decisions(remarks, exclude_functions)
    if not loops:
        return None, "no_loop_decision"
    if len(loops) > 1:
        return None, "several_loops"
    (decisions,) = loops.values()
    if len(decisions) > 1:
        return None, "inconsistent_copies"
    return next(iter(decisions)), None
