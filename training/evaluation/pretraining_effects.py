"""Where pre-training helps, in one table (pure functions): every pre-trained run beside the
untrained twins (same output, same kernels, folds and heads) on the measures the level-shift
sections hold, from the protocol's own level to a change of optimisation level between the
head's training and test code. Reads ``level_shift[_graph]`` and
``level_shift[_graph]_decisions`` (:mod:`level_shift`); nothing is recomputed.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, NamedTuple

from .level_shift_table import shift_label

__all__ = ["EffectRow", "effect_rows", "effects_markdown", "reading", "draw_effects",
           "LARGE_SHIFT_PAIRS"]

LARGE_SHIFT_PAIRS = ("O0->O1", "O0->O2", "O1->O0", "O2->O0")
"""Cross-level retrieval across the large shift: a kernel at O0 against the kernels at O1 or
O2, and back (O1 against O2 barely changes the code)."""
_OUTPUTS = {"fused": ("level_shift", "level_shift_decisions"),
            "graph": ("level_shift_graph", "level_shift_graph_decisions")}
_DEVMAP_PAIRS = (("O2", "O2"), ("O2", "O0"), ("O0", "O2"))
_DECISION_SETTINGS = ("vectorised? (source folds)", "VF (source folds)", "IC (source folds)")


class EffectRow(NamedTuple):
    """One measure: each pre-trained run's and each twin's score, and the best control's."""

    output: str
    kind: str
    """``retrieval``, ``DevMap`` or ``decisions``."""
    same_level: bool | None
    """The head trained and tested at one level (None: retrieval, always across levels)."""
    measure: str
    setting: str
    runs: list[float]
    twins: list[float]
    control: tuple[str, float] | None

    @property
    def lead(self) -> float:
        """The runs' mean minus the twins' mean."""
        return statistics.fmean(self.runs) - statistics.fmean(self.twins)

    @property
    def above_best_twin(self) -> int:
        """How many runs score above every twin."""
        return sum(value > max(self.twins) for value in self.runs)


def _split(section: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """The section's pre-trained runs, twins and controls (feature sets, no package)."""
    twins = list(section.get("twins", []))
    packages = list(section.get("packages", {}))
    runs = [name for name in packages if name not in twins]
    controls = [name for name in section.get("controls", []) if name not in packages]
    return runs, twins, controls


def _best_control(values: dict[str, float], controls: list[str]) -> tuple[str, float] | None:
    scored = [(name, values[name]) for name in controls if name in values]
    return max(scored, key=lambda item: item[1]) if scored else None


def _row(output: str, kind: str, same_level: bool | None, measure: str, setting: str,
         values: dict[str, float], section: dict[str, Any]) -> EffectRow | None:
    runs, twins, controls = _split(section)
    run_values = [values[name] for name in runs if name in values]
    twin_values = [values[name] for name in twins if name in values]
    if not run_values or not twin_values:
        return None
    return EffectRow(output, kind, same_level, measure, setting, run_values, twin_values,
                     _best_control(values, controls))


def _mean_scores(per_method: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.fmean(values) for name, values in per_method.items() if values}


def effect_rows(summary: dict[str, Any]) -> list[EffectRow]:
    """One row per output, measure and setting the summary's level-shift sections hold."""
    rows: list[EffectRow | None] = []
    for output, (devmap_key, decisions_key) in _OUTPUTS.items():
        devmap = summary.get(devmap_key) or {}
        retrieval = devmap.get("retrieval") or {}
        if retrieval:
            values = {name: 100 * statistics.fmean(entry["pairs"][pair]
                                                   for pair in LARGE_SHIFT_PAIRS)
                      for name, entry in retrieval.items()
                      if all(pair in entry.get("pairs", {}) for pair in LARGE_SHIFT_PAIRS)}
            rows.append(_row(output, "retrieval", None,
                             "cross-level retrieval, DevMap kernels, precision@1 %",
                             "O0 against O1 or O2", values, devmap))
        for train, test in _DEVMAP_PAIRS:
            label = shift_label(train, test)
            for setting, per_method in (devmap.get("scores", {}).get(label) or {}).items():
                measure = ("DevMap leakage-free at the protocol's level, accuracy %"
                           if train == test else "DevMap leakage-free across levels, accuracy %")
                rows.append(_row(output, "DevMap", train == test, measure, f"{setting}, {label}",
                                 _mean_scores(per_method), devmap))
        decisions = summary.get(decisions_key) or {}
        for train, test in decisions.get("pairs", []):
            label = shift_label(train, test)
            per_setting = (decisions.get("scores") or {}).get(label) or {}
            measure = ("compiler decisions (the probe), accuracy %" if train == test
                       else "compiler decisions across levels, accuracy %")
            for setting in _DECISION_SETTINGS:
                if setting in per_setting:
                    rows.append(_row(output, "decisions", train == test, measure,
                                     f"{setting}, {label}", _mean_scores(per_setting[setting]),
                                     decisions))
    return [row for row in rows if row is not None]


def _range(values: list[float]) -> str:
    mean = statistics.fmean(values)
    return (f"{mean:.1f}" if len(values) == 1
            else f"{mean:.1f} ({min(values):.1f}–{max(values):.1f})")


def reading(rows: list[EffectRow]) -> str:
    """What the rows say: where most runs beat every twin, and how the protocol's own level
    compares with a change of level."""
    def where(row: EffectRow) -> str:
        return f"`{row.output}` {row.setting} ({row.above_best_twin} of {len(row.runs)})"

    clear = [row for row in rows if 2 * row.above_best_twin > len(row.runs)]
    same = [row for row in rows if row.same_level]
    lines = [f"Most runs above every twin in {len(clear)} of {len(rows)} rows"
             + (": " + "; ".join(where(row) for row in clear) if clear else "") + "."]
    if same:
        lines.append(f"At one level (train = test) the lead lies between "
                     f"{min(r.lead for r in same):+.1f} and {max(r.lead for r in same):+.1f} "
                     "points.")
    return " ".join(lines)


def effects_markdown(summary: dict[str, Any]) -> list[str]:
    """The section's lines ([] without a level-shift section)."""
    rows = effect_rows(summary)
    if not rows:
        return []
    out = ["## Where pre-training helps (every pre-trained run beside the untrained twins)", "",
           "The same output of each pre-trained run and of each untrained twin (same "
           "architecture and vocabularies, random weights), on the same kernels, folds and "
           "heads; runs: mean (range); the lead is the runs' mean minus the twins'; a run "
           "counts as above the twins only when it beats every twin. Read from the level-shift "
           "studies in [STUDIES.md](STUDIES.md) (their folds, seeds and packages); nothing here "
           "is recomputed. " + reading(rows), "",
           "| output | measure | setting | pre-trained runs | untrained twins | lead | runs above "
           "every twin | best control |", "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        control = f"{row.control[0]} {row.control[1]:.1f}" if row.control else "–"
        above = f"{row.above_best_twin} of {len(row.runs)}"
        if row.above_best_twin == len(row.runs):
            above = f"**{above}**"
        out.append(f"| `{row.output}` | {row.measure} | {row.setting} | "
                   f"{_range(row.runs)} ({len(row.runs)}) | {_range(row.twins)} "
                   f"({len(row.twins)}) | {row.lead:+.1f} | {above} | {control} |")
    return out


def draw_effects(rows: list[EffectRow], png: Path) -> Path:
    """One line per row: each run's score minus the twins' mean (dots), the twins' range
    around their mean (grey bar) and the best control (cross), in points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .figures import legend_below, save_figure

    fig, ax = plt.subplots(figsize=(9.5, 0.32 * len(rows) + 1.4))
    labelled: set[str] = set()  # one legend entry per output
    for y, row in enumerate(rows):
        centre = statistics.fmean(row.twins)
        ax.plot([min(row.twins) - centre, max(row.twins) - centre], [y, y], color="0.75",
                linewidth=6, solid_capstyle="butt", label="untrained twins (range)" if y == 0
                else None)
        ax.scatter([value - centre for value in row.runs], [y] * len(row.runs), s=14,
                   color="C0" if row.output == "graph" else "C1", zorder=3,
                   label=None if row.output in labelled
                   else f"pre-trained runs, {row.output} output")
        labelled.add(row.output)
        if row.control is not None and abs(row.control[1] - centre) < 40:
            ax.scatter([row.control[1] - centre], [y], marker="x", color="0.3", s=18, zorder=2,
                       label="best control" if y == 0 else None)
    ax.axvline(0, color="0.4", linewidth=0.8)
    ax.set_yticks(range(len(rows)), [_short(r) for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("points against the untrained twins' mean")
    ax.set_title("Where pre-training helps: each run against the untrained twins", fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    return save_figure(fig, png, rect=legend_below(fig, handles, labels, columns=4))


def _short(row: EffectRow) -> str:
    """``graph · DevMap: 680 nvidia, O2→O0``: a row's figure label."""
    kind = "retrieval P@1" if row.kind == "retrieval" else row.kind
    setting = (row.setting.removeprefix("devmap-").replace(", trained at ", ", ")
               .replace(", tested at ", "→"))
    return f"{row.output} · {kind}: {setting}"
