"""Markdown cells and words shared by the reports (downstream, probes, ablations)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["MISSING", "BOUNDS", "number_cell", "mean_std_cell", "mean_range_cell", "verdict",
           "best_other"]

BOUNDS = ("static", "oracle")
"""Rows of a downstream table that are bounds, not methods."""

MISSING = "–"
"""The cell of a value that was not measured."""


def number_cell(value: Any, digits: int = 3) -> str:
    """``value`` with ``digits`` decimals, or :data:`MISSING` for None and NaN."""
    return MISSING if value is None or value != value else f"{value:.{digits}f}"


def mean_std_cell(values: list[float] | None) -> str:
    """One accuracy with one decimal, the mean ± sample std of several (seeds), or
    :data:`MISSING` for none (``record_table.spread_cell`` adds the range)."""
    if not values:
        return MISSING
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{np.mean(values):.1f} ± {np.std(values, ddof=1):.1f}"


def mean_range_cell(values: list[float | None], digits: int) -> str:
    """``mean (min–max)`` of the present values; the bare value for one, ``–`` for none."""
    present = [v for v in values if v is not None]
    if not present:
        return "–"
    mean = f"{np.mean(present):.{digits}f}"
    if len(present) == 1:
        return mean
    return f"{mean} ({min(present):.{digits}f}–{max(present):.{digits}f})"


def verdict(ok: bool) -> str:
    """How the reports judge a target: ``reached`` or ``NOT reached``."""
    return "reached" if ok else "NOT reached"


def best_other(cells: dict[str, dict[str, Any]], key: str) -> tuple[str, float] | None:
    """The best method of a table cell set by ``key`` that is neither an encoder row
    (``encoder``, ``encoder-...``) nor a bound: ``(name, value)``, or None."""
    others = [(m, v[key]) for m, v in cells.items()
              if not m.startswith("encoder") and m not in BOUNDS]
    return max(others, key=lambda x: x[1]) if others else None
