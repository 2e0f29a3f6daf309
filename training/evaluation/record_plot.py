"""The runs-of-record figure: each run's pre-trained encoder beside its untrained twins, one
panel per score of the runs-of-record table (dots: twins grey, pre-trained coloured)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .record_table import COLUMNS, METHODS

__all__ = ["draw_runs_of_record"]


def draw_runs_of_record(runs: dict[str, Any], out_png: Path) -> Path:
    """One row of dots per run in every panel: the pre-trained encoder (a coloured dot) and
    every untrained twin scored for that run (grey dots, seed 0 and ``twin_seeds``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = runs.get("runs", [])
    if not entries:
        raise ValueError("no runs of record to draw")
    columns = 4
    rows = -(-len(COLUMNS) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 0.45 * len(entries) * rows
                                                     + 1.6 * rows), squeeze=False, sharey=True)
    names = [run["name"] for run in entries]
    for ax, (key, title, _) in zip(axes.flat, COLUMNS, strict=False):
        for y, run in enumerate(entries):
            twins = [run["methods"][METHODS[1][1]], *run.get("twin_seeds", {}).values()]
            values = [t.get(key) for t in twins if t.get(key) is not None]
            ax.scatter(values, [y] * len(values), color="0.6", s=22, zorder=2,
                       label="untrained twins" if y == 0 else None)
            mine = run["methods"][METHODS[0][1]].get(key)
            if mine is not None:
                ax.scatter([mine], [y], color="tab:blue", s=40, zorder=3,
                           label="pre-trained" if y == 0 else None)
        ax.set_title(title, fontsize=9)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    axes.flat[0].invert_yaxis()  # the y axis is shared: the table's order, top to bottom
    for ax in axes.flat[len(COLUMNS):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="best")
    fig.suptitle("Runs of record: each pre-trained encoder beside its untrained twins", fontsize=11)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return out_png
