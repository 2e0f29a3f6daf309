"""Do DevMap's two row sets agree on which representation is better? A section derived from
the report's own summary each time the report is written (runs of record, their twins, the
DevMap controls; nothing is recomputed, ``devmap_agreement_table.py`` says what and how), with
a figure (``results/devmap_agreement.png``: each representation's 669-row accuracy against its
680-row accuracy, one panel per platform).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .devmap_agreement_table import GROUPS, PLATFORMS, devmap_agreement, platform_title
from .figures import legend_below, save_figure

__all__ = ["KEY", "agreement_section", "draw_devmap_agreement"]

KEY = "devmap_agreement"
_STYLE = {"pre-trained": ("C0", "o"), "twins": ("0.55", "s"), "controls": ("C1", "D")}


def agreement_section(summary: dict[str, Any], png: Path, out_dir: Path) -> dict[str, Any]:
    """The section for ``summary`` with its figure drawn into ``png`` (named relative to
    ``out_dir``); {} when the summary has no run of record with DevMap scores."""
    section = devmap_agreement(summary)
    if section:
        section["figure"] = os.path.relpath(draw_devmap_agreement(section, png), out_dir)
    return section


def draw_devmap_agreement(section: dict[str, Any], png: Path) -> Path:
    """One panel per platform: x = accuracy on the 669 rows, y = on the 680 rows; the controls
    named; the diagonal y = x for reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(PLATFORMS), figsize=(5.2 * len(PLATFORMS), 4.4))
    handles, labels = [], []
    for ax, platform in zip(axes, PLATFORMS, strict=True):
        x_key, y_key = f"devmap-669_{platform}", f"devmap-680_{platform}"
        for group, (colour, marker) in _STYLE.items():
            members = section["points"][group]
            dots = ax.scatter([m["scores"][x_key] for m in members],
                              [m["scores"][y_key] for m in members], s=22, c=colour,
                              marker=marker, alpha=0.8, label=GROUPS[group])
            if platform == PLATFORMS[0]:
                handles.append(dots)
                labels.append(f"{GROUPS[group]} ({len(members)})")
            if group == "controls":
                for m in members:
                    ax.annotate(m["name"], (m["scores"][x_key], m["scores"][y_key]),
                                fontsize=6, xytext=(3, 2), textcoords="offset points")
        r = section["correlations"]["encoders"][platform]
        ax.set_title(f"{platform_title(platform)}: encoders r = {r[0]:+.2f}" if r
                     else platform_title(platform), fontsize=9)
        ax.set_xlabel("accuracy % on the 669 rows (leakage-free)")
        ax.set_ylabel("accuracy % on the 680 rows (leakage-free)")
        low = min(min(ax.get_xlim()), min(ax.get_ylim()))
        high = max(max(ax.get_xlim()), max(ax.get_ylim()))
        ax.plot([low, high], [low, high], color="0.7", lw=0.8, ls="--", zorder=0)
        ax.grid(alpha=0.3)
    rect = legend_below(fig, handles, labels, columns=3)
    return save_figure(fig, png, rect=rect)

