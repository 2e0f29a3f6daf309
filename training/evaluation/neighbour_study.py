"""What a representation's neighbours tell the DevMap head: leakage-free accuracy under the
protocol's head and under the neighbour-label head, pre-trained encoder beside its twins.

A diagnostic of the leakage-free protocol, not a protocol (``neighbour_head.py`` says why and
how); each folder under ROOT is one ``mirencoder eval devmap --protocols leakage-free`` run,
named ``<encoder|controls|twin<S>>-<xgb|k<K>>`` (``neighbour_study_table.py``)::

    python -m mirencoder.training.evaluation.neighbour_study runs/eval/neighbours --report-dir .

Writes the table and a figure (``results/neighbour_labels.png``) into ``results/summary.json``
(key ``neighbour_labels``) and its study page (indexed in STUDIES.md and RESULTS.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .figures import legend_below, save_figure
from .neighbour_study_table import (
    ROWS,
    collect_neighbour_study,
    neighbour_study_markdown,
)
from .report_files import folder_study_main

__all__ = ["KEY", "draw_neighbour_study", "main"]

KEY = "neighbour_labels"
_DRAWN = {"encoder": "C0", "twins": "C0", "encoder-graph": "C1", "twins-graph": "C1",
          "opcode-histogram": "C2", "ir2vec-fa": "C3", "runtime-only": "C4"}
"""Drawn rows and their colours: an output and its twins share one, the twins hatched."""


def draw_neighbour_study(section: dict[str, Any], png: Path) -> Path:
    """One panel per setting: each representation's accuracy under each head (twins: mean,
    whiskers over the seeds' range)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heads, settings = section["heads"], section["settings"]
    columns = min(2, len(settings))
    rows = -(-len(settings) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.0 * rows), squeeze=False)
    for ax in axes.flat[len(settings):]:
        ax.set_visible(False)
    drawn = [r for r in _DRAWN if r in section["scores"]]
    width = 0.8 / max(len(drawn), 1)
    handles, labels = [], []
    for ax, setting in zip(axes.flat, settings, strict=False):
        for i, row in enumerate(drawn):
            values = [section["scores"][row].get(setting, {}).get(h, []) for h in heads]
            x = np.arange(len(heads)) + (i - (len(drawn) - 1) / 2) * width
            means = [np.mean(v) if v else np.nan for v in values]
            low = [m - min(v) if v else 0 for m, v in zip(means, values, strict=True)]
            high = [max(v) - m if v else 0 for m, v in zip(means, values, strict=True)]
            twins = row.startswith("twins")
            bar = ax.bar(x, means, width, yerr=[low, high], capsize=2, label=ROWS[row],
                         color="white" if twins else _DRAWN[row], edgecolor=_DRAWN[row],
                         hatch="///" if twins else None)
            if setting == settings[0]:
                handles.append(bar)
                labels.append(ROWS[row])
        ax.set_title(f"{setting} (leakage-free)", fontsize=9)
        ax.set_xticks(np.arange(len(heads)),
                      ["protocol head" if h == "xgb" else f"{h[1:]} neighbours' labels"
                       for h in heads], fontsize=8)
        ax.set_ylim(60, 100)
        ax.set_ylabel("accuracy %")
        ax.grid(axis="y", alpha=0.3)
    rect = legend_below(fig, handles, labels, columns=4)
    return save_figure(fig, png, rect=rect)


def main(argv: list[str] | None = None) -> int:
    return folder_study_main(argv, description=__doc__.splitlines()[0],
                             folders="<who>-<head>", key=KEY, collect=collect_neighbour_study,
                             markdown=neighbour_study_markdown, draw=draw_neighbour_study)


if __name__ == "__main__":
    raise SystemExit(main())
