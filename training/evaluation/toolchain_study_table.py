"""Toolchain variants study: its section, grouped into arms, and its table (the command is
``toolchain_study.py``).

Section layout (``results/summary.json`` key ``toolchain_variants``): ``columns``; ``arms``, each
``{"label", "rows", "values": {row: [value per column]}}`` (None where a diagnostic did not score
the row); ``packages`` (row -> package folder); ``note``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .figures import save_figure
from .table_cells import mean_range_cell

__all__ = ["COLUMNS", "KEY", "parse_arm", "row_values", "study_section",
           "toolchain_study_markdown", "draw_toolchain_study"]

KEY = "toolchain_variants"
FULL_DEVMAP = "100 % of the training kernels"
FULL_DECISIONS = "100 % of the training groups"
DEVMAP_SETTINGS = ("devmap-669 amd", "devmap-669 nvidia", "devmap-680 amd", "devmap-680 nvidia")
DECISION_SETTINGS = ("vectorised? (source folds)", "vectorised? (template folds)")
COLUMNS = (("invariance MAP@R (levels)", 3), ("cross-toolchain top-1 %", 1),
           ("cross-toolchain MRR", 3),
           *((f"DevMap LF {s.removeprefix('devmap-')} %", 1) for s in DEVMAP_SETTINGS),
           *((f"decisions {s} %", 1) for s in DECISION_SETTINGS))


def parse_arm(text: str) -> tuple[str, list[str]]:
    """``"LABEL=row|row"`` -> ``(LABEL, [row, row])`` (rows as the diagnostics name them)."""
    label, sep, rows = text.partition("=")
    names = [r.strip() for r in rows.split("|") if r.strip()]
    if not sep or not label.strip() or not names:
        raise ValueError(f"--arm {text!r}: expected LABEL=ROW|ROW (e.g. 'twins=twin0|twin1')")
    return label.strip(), names


def row_values(summary: dict[str, Any], row: str,
               invariance: dict[str, float] | None = None) -> list[float | None]:
    """One row's value per :data:`COLUMNS` (None where a diagnostic did not score it);
    ``invariance``: the probes' optimisation-invariance MAP@R per row."""
    retrieval = summary.get("toolchain_retrieval", {}).get("scores", {}).get(row)
    devmap = summary.get("label_efficiency", {}).get("scores", {}).get(FULL_DEVMAP, {})
    decisions = (summary.get("label_efficiency_decisions", {}).get("scores", {})
                 .get(FULL_DECISIONS, {}))

    def mean(cells: dict, setting: str) -> float | None:
        values = cells.get(setting, {}).get(row)
        return float(np.mean(values)) if values else None

    return [(invariance or {}).get(row),
            100 * retrieval["top1"] if retrieval else None,
            retrieval["mrr"] if retrieval else None,
            *(mean(devmap, s) for s in DEVMAP_SETTINGS),
            *(mean(decisions, s) for s in DECISION_SETTINGS)]


def study_section(summary: dict[str, Any], arms: list[tuple[str, list[str]]],
                  note: str = "", invariance: dict[str, float] | None = None) -> dict[str, Any]:
    """The section: each arm's rows with their values; refuses rows no diagnostic scored."""
    unknown = [row for _, rows in arms for row in rows
               if all(v is None for v in row_values(summary, row, invariance))]
    if unknown:
        raise ValueError(f"rows without scores in the diagnostics' sections: {unknown}")
    packages = {**summary.get("label_efficiency", {}).get("packages", {}),
                **summary.get("toolchain_retrieval", {}).get("packages", {})}
    return {"columns": [name for name, _ in COLUMNS],
            "arms": [{"label": label, "rows": rows,
                      "values": {row: row_values(summary, row, invariance) for row in rows}}
                     for label, rows in arms],
            "packages": {row: packages[row] for _, rows in arms for row in rows
                         if row in packages},
            "note": note}


def toolchain_study_markdown(section: dict[str, Any]) -> str:
    """The section's table: one line per arm, mean (range over its runs) per column."""
    digits = dict(COLUMNS)
    title = ("Toolchain variants as positive pairs (clang 14 + clang 19, host + spir64, or two "
             "pass pipelines, variants of each source)")
    lines = [f"## {title}", "", section.get("note", ""), "",
             "| arm | " + " | ".join(section["columns"]) + " |",
             "|---|" + "---|" * len(section["columns"])]
    for arm in section["arms"]:
        per_column = list(zip(*arm["values"].values(), strict=True))
        cells = [mean_range_cell(list(values), digits[name])
                 for name, values in zip(section["columns"], per_column, strict=True)]
        lines.append(f"| {arm['label']} ({len(arm['rows'])}) | " + " | ".join(cells) + " |")
    if section.get("figure"):
        lines += ["", f"![toolchain variants by arm]({section['figure']})"]
    if section.get("packages"):
        lines += ["", "Rows: " + ", ".join(f"{row} `{path}`"
                                             for row, path in section["packages"].items()) + "."]
    return "\n".join(lines) + "\n"


def draw_toolchain_study(section: dict[str, Any], png: Path) -> Path:
    """Per arm, each run as a dot: cross-toolchain top-1, DevMap leakage-free (mean of the four
    settings) and the decision probe's vectorised? on template folds, one panel each."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = section["columns"]
    devmap = [i for i, name in enumerate(columns) if name.startswith("DevMap LF")]

    def column(name: str) -> Callable[[list], float | None]:
        index = columns.index(name)
        return lambda values: values[index]

    def devmap_mean(values: list) -> float | None:
        if any(values[i] is None for i in devmap):
            return None
        return float(np.mean([values[i] for i in devmap]))

    panels = [("cross-toolchain top-1 %", column("cross-toolchain top-1 %")),
              ("DevMap leakage-free, mean of the four settings, %", devmap_mean),
              ("vectorised? from -O0 IR, template folds, %",
               column("decisions vectorised? (template folds) %"))]
    arms = section["arms"]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels) + 2.4,
                                                      0.5 * len(arms) + 1.4), sharey=True)
    for y, arm in enumerate(arms):
        for ax, (_, pick) in zip(axes, panels, strict=True):
            xs = [x for x in (pick(v) for v in arm["values"].values()) if x is not None]
            ax.scatter(xs, [y] * len(xs), color=f"C{y % 10}", s=28, alpha=0.8)
    labels = [textwrap.fill(a["label"], 34) for a in arms]
    axes[0].set_yticks(range(len(arms)), labels, fontsize=7)
    axes[0].invert_yaxis()
    for ax, (title, _) in zip(axes, panels, strict=True):
        ax.set_xlabel(title, fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, png)
