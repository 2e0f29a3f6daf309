"""The stacked-head settings diagnostic's table: the STUDIES.md section, its figure and its
Targets line (the command is ``stacked_sweep.py``).

Section layout (``results/summary.json`` key ``stacked_sweep``): ``head_settings`` (a list of
``{"probe_epochs", "weight_decay", "hidden"}``), ``settings`` (``"<task> <platform>"``),
``twins`` (the twin feature sets' names), ``controls``, ``packages`` (name -> path),
``scores[head label][setting][feature set]`` = accuracy % per fold seed, ``note``,
``seconds``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .figures import save_figure
from .package_features import ENCODER
from .record_table import spread_cell
from .table_cells import mean_std_cell

__all__ = ["CONTROL_LABELS", "ENCODER", "row_label", "head_setting_label", "sweep_gaps", "twin_means",
           "sweep_markdown", "stacked_sweep_markdown",
           "stacked_sweep_statements", "draw_stacked_sweep"]


CONTROL_LABELS = {"runtime-only": "run-time inputs only", "opcode-histogram": "opcode histogram",
                  "loop-opcode-histogram": "loop opcode histogram",
                  "ir2vec-fa": "IR2Vec flow-aware", "program-size": "program size"}


def row_label(section: dict[str, Any], name: str) -> str:
    """How a control (or another named feature set of the section) reads in its table."""
    return section.get("labels", {}).get(name) or CONTROL_LABELS.get(name, name)


def head_setting_label(setting: dict[str, Any]) -> str:
    """``500 epochs, wd 0.01, 64 units``: one head setting, as a table row and a dict key."""
    return (f"{setting['probe_epochs']} epochs, wd {setting['weight_decay']:g}, "
            f"{setting['hidden']} units")


def _mean(values: list[float] | None) -> float | None:
    return float(np.mean(values)) if values else None


def twin_means(scores: dict[str, list[float]], twins: list[str]) -> list[float]:
    return [m for m in (_mean(scores.get(t)) for t in twins) if m is not None]


def sweep_gaps(section: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``head label -> setting -> encoder minus the twins' mean`` (points), where both exist."""
    gaps: dict[str, dict[str, float]] = {}
    for label, per_setting in section["scores"].items():
        for setting, scores in per_setting.items():
            encoder, twins = _mean(scores.get(ENCODER)), twin_means(scores, section["twins"])
            if encoder is not None and twins:
                gaps.setdefault(label, {})[setting] = encoder - float(np.mean(twins))
    return gaps


def sweep_markdown(section: dict[str, Any], title: str, axis: str, figure_alt: str) -> str:
    """A sweep's section: one row per (swept value, representation), one column per setting.

    Args:
        section: ``scores[swept value label][setting][feature set]`` = values per fold seed,
            with ``settings``, ``twins``, ``controls``, ``packages``, ``note``, ``figure``.
        title: the section's heading; axis: the header of the swept-value column.
    """
    settings, twins = section["settings"], section["twins"]
    gaps = sweep_gaps(section)
    lines = [f"## {title}", "", section.get("note", ""), "",
             f"| {axis} | representation | " + " | ".join(settings) + " |",
             "|---|---|" + "---|" * len(settings)]
    for label, per_setting in section["scores"].items():
        def row(name: str, cells: list[str], head: str = label) -> None:
            if any(cell != "–" for cell in cells):
                lines.append(f"| {head} | {name} | " + " | ".join(cells) + " |")

        row("pre-trained encoder", [mean_std_cell(per_setting.get(s, {}).get(ENCODER))
                                    for s in settings])
        row(f"untrained twins ({len(twins)})",
            [spread_cell(twin_means(per_setting.get(s, {}), twins), 1) for s in settings])
        row("**pre-trained minus twins' mean**",
            [f"**{gaps[label][s]:+.1f}**" if s in gaps.get(label, {}) else "–"
             for s in settings])
        for control in section.get("controls", []):
            row(row_label(section, control),
                [mean_std_cell(per_setting.get(s, {}).get(control)) for s in settings])
    if section.get("figure"):
        lines += ["", f"![{figure_alt}]({section['figure']})"]
    packages = section.get("packages", {})
    if packages:
        lines += ["", "Packages: " + ", ".join(f"{name} `{path}`"
                                              for name, path in packages.items()) + "."]
    return "\n".join(lines) + "\n"


def stacked_sweep_markdown(section: dict[str, Any]) -> str:
    """One row per (head setting, representation), one column per setting."""
    return sweep_markdown(section, "Does the stacked head's setting decide pre-training's gap? "
                          "(DevMap leakage-free, frozen)", "stacked head",
                          "the encoder's gap to its twins under each stacked head setting")


def stacked_sweep_statements(section: dict[str, Any]) -> list[str]:
    """One Targets line: the range of the encoder's gap to its twins over head settings and
    settings, and whether any one head setting gives +2 points on every setting."""
    gaps = sweep_gaps(section) if section else {}
    values = [g for per in gaps.values() for g in per.values()]
    if not values:
        return []
    everywhere = [label for label, per in gaps.items()
                  if len(per) == len(section["settings"]) and min(per.values()) >= 2.0]
    return [f"**stacked head settings** (DevMap leakage-free, frozen encoder against "
            f"{len(section['twins'])} untrained twins, {len(gaps)} head settings x "
            f"{len(section['settings'])} settings; Does the stacked head's setting decide "
            f"pre-training's gap?): the encoder minus the twins' mean ranges from "
            f"{min(values):+.1f} to {max(values):+.1f} points; "
            + (f"+2 on every setting under {', '.join(everywhere)}." if everywhere else
               "no head setting gives +2 on every setting.")]


def draw_stacked_sweep(section: dict[str, Any], png):
    """One panel per setting: the encoder's gap to each twin's mean per head setting (bar:
    gap to the twins' mean; whiskers: to the best and the worst twin)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings, labels = section["settings"], list(section["scores"])
    columns = min(2, len(settings))
    rows = -(-len(settings) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.8 * columns, 3.0 * rows), squeeze=False)
    for ax in axes.flat[len(settings):]:
        ax.set_visible(False)
    x = np.arange(len(labels))
    for ax, setting in zip(axes.flat, settings, strict=False):
        for i, label in enumerate(labels):
            scores = section["scores"][label].get(setting, {})
            encoder, twins = _mean(scores.get(ENCODER)), twin_means(scores, section["twins"])
            if encoder is None or not twins:
                continue
            gap = encoder - float(np.mean(twins))
            ax.bar(x[i], gap, width=0.6, color="C0" if gap >= 0 else "C3", alpha=0.5)
            ax.errorbar(x[i], gap, yerr=[[gap - (encoder - max(twins))],
                                         [(encoder - min(twins)) - gap]],
                        color="k", capsize=3, linewidth=1)
        ax.axhline(0, color="k", linewidth=0.8)
        ax.axhline(2, color="C2", linestyle="--", linewidth=1, label="target: +2 points")
        ax.set_xticks(x, [label.replace(", ", "\n") for label in labels], fontsize=6.5)
        ax.set_title(f"{setting} (leakage-free)", fontsize=9)
        ax.set_ylabel("encoder minus twins, points")
        ax.grid(axis="y", alpha=0.3)
    axes.flat[0].legend(fontsize=7, loc="best")
    return save_figure(fig, png)
