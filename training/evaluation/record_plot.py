"""The runs-of-record figure: each run's pre-trained encoder beside its untrained twins, one
panel per score of the runs-of-record table (dots: twins grey, pre-trained coloured); and the
panel grid that figure and the learning curves share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .figures import legend_below, save_figure
from .record_table import COLUMNS, METHODS, run_twins

__all__ = ["draw_runs_of_record", "score_panels", "save_score_panels"]

PANELS_PER_ROW = 4


def score_panels(row_height: float, *, sharey: bool = False) -> tuple[Any, Any]:
    """A figure with one panel per runs-of-record score (:data:`COLUMNS`), four to a row:
    ``(figure, axes)``, ``axes`` a 2-D array whose first ``len(COLUMNS)`` panels are used."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = -(-len(COLUMNS) // PANELS_PER_ROW)
    return plt.subplots(rows, PANELS_PER_ROW, figsize=(4.2 * PANELS_PER_ROW, row_height * rows),
                        squeeze=False, sharey=sharey)


def save_score_panels(fig: Any, axes: Any, title: str, out_png: Path) -> Path:
    """Hides the unused panels, puts the first panel's legend in a strip below the panels
    (inside a panel it hid dots) and the title in its own strip above them (the panels'
    titles ran into it), and writes the figure; both strips add to its height."""
    for ax in axes.flat[len(COLUMNS):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    columns = max(1, min(len(handles), PANELS_PER_ROW))
    title_in = 0.35
    fig.set_figheight(fig.get_figheight() + title_in)
    bottom = legend_below(fig, handles, labels, columns=columns)[1]
    fig.suptitle(title, fontsize=11, y=1 - 0.1 / fig.get_figheight(), va="top")
    return save_figure(fig, out_png, dpi=110,
                       rect=(0, bottom, 1, 1 - title_in / fig.get_figheight()))


def draw_runs_of_record(runs: dict[str, Any], out_png: Path) -> Path:
    """One row of dots per run in every panel: the pre-trained encoder (a coloured dot) and
    every untrained twin scored for that run (grey dots, seed 0 and ``twin_seeds``)."""
    entries = runs.get("runs", [])
    if not entries:
        raise ValueError("no runs of record to draw")
    fig, axes = score_panels(0.45 * len(entries) + 1.6, sharey=True)
    names = [run["name"] for run in entries]
    for ax, (key, title, _) in zip(axes.flat, COLUMNS, strict=False):
        for y, run in enumerate(entries):
            twins = run_twins(run)
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
    return save_score_panels(fig, axes, "Runs of record: each pre-trained encoder beside its "
                             "untrained twins", out_png)
