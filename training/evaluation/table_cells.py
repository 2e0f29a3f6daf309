"""Markdown cells and words shared by the reports (downstream, probes, ablations)."""

from __future__ import annotations

from typing import Any

__all__ = ["MISSING", "number_cell", "verdict"]

MISSING = "–"
"""The cell of a value that was not measured."""


def number_cell(value: Any, digits: int = 3) -> str:
    """``value`` with ``digits`` decimals, or :data:`MISSING` for None and NaN."""
    return MISSING if value is None or value != value else f"{value:.{digits}f}"


def verdict(ok: bool) -> str:
    """How the reports judge a target: ``reached`` or ``NOT reached``."""
    return "reached" if ok else "NOT reached"
