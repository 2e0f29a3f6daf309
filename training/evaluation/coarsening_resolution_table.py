"""The thread-coarsening resolution diagnostic's STUDIES.md section and its Targets line (the
command is ``coarsening_resolution.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["resolution_markdown", "resolution_statements", "spread"]


def spread(values: list[float], target: float) -> dict[str, float]:
    """Mean, sample std, range and how many of ``values`` reach ``target``."""
    x = np.asarray(values, dtype=np.float64)
    return {"mean": float(x.mean()), "std": float(x.std(ddof=1)) if len(x) > 1 else 0.0,
            "min": float(x.min()), "max": float(x.max()), "reaching": int((x >= target).sum()),
            "n": int(len(x))}


def _random_cell(values: list[float], target: float) -> str:
    s = spread(values, target)
    return (f"{s['mean']:.3f}x ± {s['std']:.3f} ({s['min']:.3f}-{s['max']:.3f}x); "
            f"{s['reaching']} of {s['n']} seeds reach {target:.2f}x")


def resolution_markdown(section: dict[str, Any]) -> str:
    """The section: exact feature sets with their kernels' interval, random sets over seeds."""
    target = section["target"]
    lines = ["## How finely thread coarsening leakage-free separates representations", "",
             f"A diagnostic of the protocol, no encoder: the same folds (leave one of "
             f"{section['kernels']} kernels out on all four platforms) and head (XGBoost stumps) "
             "on exact feature sets, each with a 95 % interval over the kernels (bootstrap: "
             f"kernels drawn with replacement, each with its four rows, {section['boot_draws']:,}"
             " draws), and on random feature sets at many seeds: the opcode histogram through a "
             "random 128-wide mixing (a random function of the program's content, as an "
             "untrained encoder's readout is) and seeded random vectors (no content). Oracle "
             f"{section['oracle']:.3f}x. Command: `{section['command']}`.", "",
             "| features | columns | mean speedup | spread |", "|---|---|---|---|"]
    for name, row in section["exact"].items():
        low, high = row["interval"]
        lines.append(f"| {name} | {row['columns']} | {row['speedup']:.3f}x | kernels' 95 % "
                     f"interval {low:.3f}-{high:.3f}x |")
    for row in section["random"].values():
        lines.append(f"| {row['label']} | {row['columns']} | "
                     f"{_random_cell(row['values'], target)} | over seeds |")
    if section.get("figure"):
        lines += ["", f"![thread coarsening resolution]({section['figure']})"]
    return "\n".join(lines) + "\n"


def resolution_statements(section: dict[str, Any], encoder: float | None = None) -> list[str]:
    """The Targets line: where the 1.10x target sits inside the protocol's own noise."""
    if not section:
        return []
    target = section["target"]
    parts = [f"{row['label']} {_random_cell(row['values'], target)}"
             for row in section["random"].values()]
    size = section["exact"].get("program-size")
    if size:
        parts.append(f"program size {size['speedup']:.3f}x, kernels' 95 % interval "
                     f"{size['interval'][0]:.3f}-{size['interval'][1]:.3f}x")
    tail = ""
    if encoder is not None:
        noise = section["random"].get("random")
        if noise:
            s = spread(noise["values"], target)
            where = "inside" if s["min"] <= encoder <= s["max"] else "outside"
            tail = (f"; the encoder's {encoder:.3f}x lies {where} the content-free vectors' "
                    "range")
    return [f"**what limits thread coarsening leakage-free** ({section['kernels']} kernels; How "
            "finely thread coarsening leakage-free separates representations): "
            + "; ".join(parts) + tail + "."]
