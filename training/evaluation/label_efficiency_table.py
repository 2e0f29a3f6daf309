"""The label-efficiency diagnostic's table: the STUDIES.md section, its figure and its Targets
line (the command is ``label_efficiency.py``).

Section layout (``results/summary.json`` key ``label_efficiency``): ``fractions`` (shares of
each fold's training kernels), ``settings`` (``"<task> <platform>"``), ``twins``, ``controls``,
``packages`` (name -> path), ``scores[share label][setting][feature set]`` = accuracy % per
fold seed, ``seeds``, ``note``, ``seconds``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .figures import save_figure
from .stacked_sweep_table import (
    ENCODER,
    row_label,
    sweep_gaps,
    sweep_markdown,
    twin_means,
)

__all__ = ["DECISIONS", "fraction_label", "label_efficiency_markdown", "decision_efficiency_markdown",
           "label_efficiency_statements", "draw_label_efficiency"]


def fraction_label(fraction: float, unit: str = "kernels") -> str:
    """``25 % of the training kernels``: one share, as a table row and a dict key."""
    return f"{100 * fraction:g} % of the training {unit}"


def _labels(section: dict[str, Any]) -> list[str]:
    return [fraction_label(f, section.get("unit", "kernels")) for f in section["fractions"]]


def label_efficiency_markdown(section: dict[str, Any]) -> str:
    """One row per (share, representation), one column per setting."""
    return sweep_markdown(section, "Does pre-training help when labels are few? (DevMap "
                          "leakage-free, frozen, XGBoost on a share of each fold's kernels)",
                          "training kernels", "accuracy against the share of training kernels")


def decision_efficiency_markdown(section: dict[str, Any]) -> str:
    """The decision probe's label efficiency: one row per (share, representation)."""
    return sweep_markdown(section, "Does pre-training help when labels are few? (compiler "
                          "decisions from -O0 IR, frozen, the probe's logistic regression on a "
                          "share of each fold's sources or templates; accuracy %)",
                          "training groups", "decision accuracy against the share of training "
                          "groups")


_DEVMAP = ("label efficiency", "DevMap leakage-free, frozen, the protocol's XGBoost on a share "
           "of each fold's training kernels")
DECISIONS = ("label efficiency of the decision probe", "compiler decisions from -O0 IR, frozen, "
             "the probe's logistic regression on a share of each fold's training groups")
"""(title, what) of the decision probe's Targets line."""


def label_efficiency_statements(section: dict[str, Any],
                                kind: tuple[str, str] = _DEVMAP) -> list[str]:
    """One Targets line: the encoder's gap to its twins at the smallest and the full share."""
    gaps = sweep_gaps(section) if section else {}
    if not gaps:
        return []
    labels = [label for label in _labels(section) if label in gaps]
    parts = []
    for label in dict.fromkeys((labels[0], labels[-1])):
        cells = " / ".join(f"{gaps[label][s]:+.1f}" if s in gaps[label] else "–"
                           for s in section["settings"])
        parts.append(f"at {label} {cells}")
    return [f"**{kind[0]}** ({kind[1]}, {section['seeds']} fold seeds; Does pre-training "
            f"help when labels are few?), the encoder minus its "
            f"{len(section['twins'])} untrained twins' mean, points "
            f"({' / '.join(section['settings'])}): " + "; ".join(parts) + "."]


def draw_label_efficiency(section: dict[str, Any], png: Path) -> Path:
    """One panel per setting: accuracy against the share of training kernels for the encoder,
    the twins (mean, band from the worst to the best twin) and each control."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = section["settings"]
    fractions = section["fractions"]
    labels = _labels(section)
    columns = min(2, len(settings))
    rows = -(-len(settings) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.0 * columns, 3.2 * rows), squeeze=False)
    for ax in axes.flat[len(settings):]:
        ax.set_visible(False)

    def curve(setting: str, name: str) -> np.ndarray:
        return np.array([np.mean(section["scores"][label].get(setting, {}).get(name) or [np.nan])
                         for label in labels])

    x = 100 * np.asarray(fractions)
    for ax, setting in zip(axes.flat, settings, strict=False):
        per_twin = np.array([[np.mean(twin_means(section["scores"][label].get(setting, {}),
                                                 [twin]) or [np.nan]) for label in labels]
                             for twin in section["twins"]])
        ax.fill_between(x, np.nanmin(per_twin, axis=0), np.nanmax(per_twin, axis=0),
                        color="C1", alpha=0.2, linewidth=0)
        ax.plot(x, np.nanmean(per_twin, axis=0), "o--", color="C1",
                label=f"untrained twins ({len(section['twins'])}, mean and range)")
        ax.plot(x, curve(setting, ENCODER), "o-", color="C0", linewidth=2,
                label="pre-trained encoder")
        checkpoints = [n for n in section.get("controls", []) if n in section.get("labels", {})]
        controls = [n for n in section.get("controls", []) if n not in checkpoints]
        for i, name in enumerate(checkpoints):  # the encoder's earlier checkpoints: paler blues
            ax.plot(x, curve(setting, name), "x-", color="C0", linewidth=0.8,
                    alpha=0.25 + 0.5 * (i + 1) / (len(checkpoints) + 1),
                    label=row_label(section, name))
        for i, control in enumerate(controls):
            ax.plot(x, curve(setting, control), ".:", color=f"C{i + 2}", linewidth=1,
                    label=row_label(section, control))
        ax.set_xscale("log")
        ax.set_xticks(x, [f"{v:g} %" for v in x])
        ax.minorticks_off()
        ax.set_title(setting + (" (leakage-free)" if section.get("unit", "kernels") == "kernels"
                                else ""), fontsize=9)
        ax.set_xlabel(f"share of each fold's training {section.get('unit', 'kernels')}")
        ax.set_ylabel("accuracy %")
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=6.5, loc="lower right")
    return save_figure(fig, png)
