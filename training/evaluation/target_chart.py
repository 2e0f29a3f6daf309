"""The targets chart (``results/targets.png``): every check of every target on one axis, the
encoder's score as a share of what the check needs, so a reader sees at once which targets
are met and how far the others are.

One row per check (``target_checks.judge``): a filled dot at score / goal (green when met,
red when not; 1.0 is the goal, and a check that must beat a baseline needs more than 1.0),
and, where the goal comes from another row (the untrained twin, a baseline), a hollow dot at
that row's own score / goal. Ratios outside the axis are drawn at its edge as triangles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .figures import save_figure
from .target_checks import AHEAD, PRETRAINING, Target, judge

__all__ = ["draw_targets_chart", "chart_rows"]

_LIMITS = (0.80, 1.30)
_MET, _MISSED, _REFERENCE = "#27ae60", "#c0392b", "#7f8c8d"
_REFERENCES = {"encoder-untrained": "twin", "published": "published goal", "fixed": "goal",
               "opcode-histogram": "opcode histogram", "ir2vec-fa": "IR2Vec flow-aware"}


def _short(target: Target) -> str:
    where = (target.where.replace("probes, ", "").replace("thread-coarsening", "TC")
             .replace("optimisation-invariance MAP@R", "invariance").replace("compiler decisions ", "decisions "))
    return where + {AHEAD: " ahead", PRETRAINING: " pre-training"}.get(target.kind, "")


def chart_rows(targets: list[Target]) -> list[tuple[str, float, float | None, bool]]:
    """``(label, score / goal, reference / goal or None, met)`` per check, in report order."""
    rows = []
    for target in targets:
        for check in target.checks:
            reference = _REFERENCES.get(check.reference, check.reference)
            label = f"{_short(target)}: {check.label} vs {reference}"
            base = (None if check.reference_value is None or check.goal <= 0
                    else check.reference_value / check.goal)
            rows.append((label, check.value / check.goal, base, check.met))
    return rows


def _point(ratio: float, y: int) -> tuple[list[float], list[int], str]:
    """A ratio's x, y and marker: a dot, or a triangle at the axis edge outside it."""
    low, high = _LIMITS
    shown = min(max(ratio, low), high)
    return [shown], [y], "o" if shown == ratio else (">" if ratio > high else "<")


def draw_targets_chart(summary: dict[str, Any], out_png: Path) -> Path | None:
    """Draw the chart into ``out_png``; None (nothing written) when no target is judged."""
    targets = judge(summary)
    rows = chart_rows(targets)
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    low, high = _LIMITS
    fig, ax = plt.subplots(figsize=(9.0, 1.2 + 0.27 * len(rows)))
    for y, (_, ratio, base, met) in enumerate(rows):
        if base is not None:
            ax.plot(*_point(base, y), mfc="none", color=_REFERENCE)
        ax.plot(*_point(ratio, y), color=_MET if met else _MISSED, ms=7)
    ax.axvline(1.0, color="black", lw=1, ls="--")
    ax.set_yticks(range(len(rows)), [row[0] for row in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(low - 0.01, high + 0.01)
    ax.set_xlabel("score / goal (1.0 = the goal; filled: encoder, green met, red missed; "
                  "hollow: the reference row)", fontsize=8)
    met = sum(1 for target in targets if target.met)
    ax.set_title(f"Targets: {met} of {len(targets)} met", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, out_png)
