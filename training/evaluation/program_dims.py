"""How many program dimensions the DevMap head can use: leakage-free accuracy against K.

A diagnostic of the leakage-free protocol, not a protocol: each folder is one
``mirencoder eval devmap --protocols leakage-free --set devmap.program_dims=K`` run (K = 0:
every dimension), whose head saw each program representation reduced to its first K principal
components (fitted on the training folds) beside the run-time inputs. Folders named
``k<K>-twin<S>`` hold more untrained twins (``--untrained-model``) at seed S (only their twin
rows are read); with them the twins' row is a mean over seeds::

    python -m mirencoder.training.evaluation.program_dims runs/eval/program-dims --report-dir .

Writes the table and a figure (``results/program_dims.png``) into ``results/summary.json``
(key ``program_dims``) and STUDIES.md (indexed in RESULTS.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .figures import save_figure
from .program_dims_table import METHODS, collect_program_dims, label_k, program_dims_markdown
from .report_files import folder_study_main

__all__ = ["draw_program_dims", "main"]


def draw_program_dims(section: dict[str, Any], png: Path) -> Path:
    """One panel per setting: accuracy against K for each method (twins: mean and range)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dims, settings = section["dims"], section["settings"]
    columns = min(2, len(settings))
    rows = -(-len(settings) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.2 * rows), squeeze=False)
    x = np.arange(len(dims))
    for ax in axes.flat[len(settings):]:
        ax.set_visible(False)
    for ax, setting in zip(axes.flat, settings, strict=False):
        for method, label in METHODS.items():
            values = section["scores"][method][setting]
            if not any(values):
                continue
            means = np.array([np.mean(v) if v else np.nan for v in values])
            line, = ax.plot(x, means, marker="o", label=label,
                            linestyle="--" if method == "runtime-only" else "-")
            if method == "encoder-untrained" and max(len(v) for v in values) > 1:
                ax.fill_between(x, [min(v) for v in values], [max(v) for v in values],
                                color=line.get_color(), alpha=0.2)
        ax.set_title(f"{setting} (leakage-free)", fontsize=9)
        ax.set_xticks(x, [label_k(k) for k in dims])
        ax.set_ylabel("accuracy %")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7, loc="upper right")
    fig.supxlabel("K: principal components of each program representation the head sees",
                  fontsize=9)
    return save_figure(fig, png)


def main(argv: list[str] | None = None) -> int:
    return folder_study_main(argv, description=__doc__.splitlines()[0],
                             folders="k<K>[-twin<S>]", key="program_dims",
                             collect=collect_program_dims, markdown=program_dims_markdown,
                             draw=draw_program_dims)


if __name__ == "__main__":
    raise SystemExit(main())
