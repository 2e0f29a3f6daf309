"""A PNG bar chart of the probes: MAP@R per method, and macro-F1 per decision task (under the
strictest fold grouping evaluated)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .report import TASK_TITLES
from .results import ProbeResults

__all__ = ["plot_probes"]


def _value(v: Any) -> float:
    return float("nan") if v is None else float(v)


def plot_probes(results: ProbeResults | dict[str, Any], path: str | Path) -> Path:
    """Writes the chart (matplotlib, Agg backend) and returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    data = results.to_dict() if isinstance(results, ProbeResults) else results
    order = list(data.get("methods", {}))
    retrieval = data.get("retrieval", {}).get("methods", {})
    groupings = data.get("decisions", {}).get("groupings", {})
    grouping = "template" if "template" in groupings else next(iter(groupings), "")
    tasks = {t: v for t, v in groupings.get(grouping, {}).items() if "methods" in v}
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    names = [m for m in order if m in retrieval]
    left.barh(names, [_value(retrieval[m]["map_at_r"]) for m in names], color="#4477aa")
    left.invert_yaxis()
    left.set_xlim(0, 1)
    left.set_xlabel("MAP@R")
    left.set_title("a. optimisation-invariance retrieval")
    names = [m for m in order if any(m in t["methods"] for t in tasks.values())]
    width = 0.8 / max(len(tasks), 1)
    y = np.arange(len(names))
    for k, (task, info) in enumerate(tasks.items()):
        values = [_value(info["methods"].get(m, {}).get("macro_f1")) for m in names]
        bars = right.barh(y + k * width, values, height=width,
                          label=TASK_TITLES.get(task, task))
        right.axvline(_value(info["majority"]["macro_f1"]), linestyle="--", linewidth=1,
                      color=bars.patches[0].get_facecolor() if bars.patches else "grey")
    right.set_yticks(y + width * (len(tasks) - 1) / 2, names)
    right.invert_yaxis()
    right.set_xlim(0, 1)
    right.set_xlabel("macro-F1 (dashed: majority class)")
    right.set_title(f"b. -O3 vectoriser decisions ({grouping}-grouped folds)")
    if tasks:
        right.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
