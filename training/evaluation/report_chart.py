"""Draws the bar chart of the results (one panel per task and protocol)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .figures import save_figure
from .published import PUBLISHED_COARSENING, PUBLISHED_DEVMAP
from .report_markdown import method_sort_key

__all__ = ["draw_results_chart"]

_PUBLISHED_SHOWN = ("DeepTune", "NCC (inst2vec)", "IR2Vec flow-aware")


def _panels(summary: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    panels = []
    for task in sorted(summary.get("results", {})):
        for protocol, platforms in summary["results"][task].items():
            panels.append((task, protocol, platforms))
    return panels


def draw_results_chart(summary: dict[str, Any], out_png: Path) -> Path:
    """Horizontal bars: device-mapping accuracy (AMD, NVIDIA) and thread-coarsening average
    speedup, mean ± std over seeds, with a few published numbers (hatched) on the literature
    panels and the oracle as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = _panels(summary)
    if not panels:
        raise ValueError("the summary holds no results to draw")
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.2 * columns, 4.6 * rows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, (task, protocol, platforms) in zip(axes.flat, panels, strict=False):
        is_tc = task == "thread-coarsening"
        series = ["average"] if is_tc else [p for p in ("amd", "nvidia") if p in platforms]
        metric = "speedup" if is_tc else "accuracy"
        methods = [m for m in sorted(platforms[series[0]], key=method_sort_key) if m != "oracle"]
        labels, bars = list(methods), []
        for name in series:
            values = [platforms[name][m][f"{metric}_mean"] for m in methods]
            errors = [platforms[name][m][f"{metric}_std"] for m in methods]
            bars.append((name, values, errors, [False] * len(methods)))
        if protocol.startswith("literature"):
            for pub in _PUBLISHED_SHOWN:
                labels.append(f"{pub} (published)")
                for i, name in enumerate(series):
                    value = (PUBLISHED_COARSENING[pub]["average"] if is_tc
                             else PUBLISHED_DEVMAP[pub][name][0])
                    bars[i][1].append(value)
                    bars[i][2].append(0.0)
                    bars[i][3].append(True)
        height = 0.8 / len(series)
        colours = ("#c0392b", "#2e86c1", "#27ae60")
        for i, (name, values, errors, published) in enumerate(bars):
            positions = [j + (i - (len(series) - 1) / 2) * height for j in range(len(labels))]
            ax.barh(positions, values, height=height, xerr=errors, color=colours[i % 3],
                    alpha=0.85, label=name.upper() if not is_tc else "average of 4 GPUs",
                    error_kw={"elinewidth": 1, "capsize": 2})
            for pos, value, error, is_pub in zip(positions, values, errors, published,
                                                 strict=True):
                if is_pub:
                    ax.barh(pos, value, height=height, color="white", edgecolor=colours[i % 3],
                            hatch="//")
                ax.text(value + error, pos, f" {value:.2f}" if is_tc else f" {value:.1f}",
                        va="center", fontsize=7)
        oracle = [platforms[name]["oracle"][f"{metric}_mean"] for name in series]
        for value in oracle:
            ax.axvline(value, color="grey", linestyle="--", linewidth=1)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.invert_yaxis()
        if is_tc:
            low = min(min(b[1]) for b in bars)
            ax.set_xlim(min(0.9, low - 0.02), max(oracle) + 0.2)  # room for the legend
            ax.set_xlabel("mean speedup over factor 1 (dashed: oracle)")
        else:
            low = min(min(b[1]) for b in bars)
            start = max(0, int((low - 8) // 10 * 10))
            ax.set_xlim(start, 122)  # room for the legend right of the bars
            ax.set_xticks(range(start, 101, 10))
            ax.set_xlabel("accuracy % (dashed: oracle)")
        ax.set_title(f"{task} — {protocol}", fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
        ax.grid(axis="x", alpha=0.3)
    encoder = summary.get("encoder") or {}
    title = "Downstream evaluation" + (f" — encoder {encoder.get('uri')}" if encoder else
                                       " — baselines and controls (no encoder given)")
    fig.suptitle(title, fontsize=12)
    return save_figure(fig, Path(out_png), dpi=110)
