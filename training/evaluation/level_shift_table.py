"""The level-shift diagnostic's table: the STUDIES.md section, its figure and its Targets line
(the command is ``level_shift.py``).

Section layout (``results/summary.json`` key ``level_shift``): ``levels``, ``pairs`` (``[train
level, test level]``), ``fractions`` (the pairs' labels, in order), ``settings`` (``"<task>
<platform>"``), ``twins``, ``controls``, ``packages`` (name -> path),
``scores[pair label][setting][feature set]`` = accuracy % per fold seed, ``coverage``, ``seeds``,
``note``, ``seconds``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .figures import legend_below, save_figure
from .package_features import ENCODER
from .record_table import spread_cell
from .stacked_sweep_table import row_label, sweep_gaps, sweep_markdown, twin_means

__all__ = ["LEVEL_SHIFT_KEYS", "JOTAI_SETTING", "level_shift_key", "shift_label",
           "level_shift_markdown", "retrieval_markdown", "level_shift_statements", "shift_drops",
           "draw_level_shift"]

TITLE = ("Does pre-training's invariance carry to DevMap? (leakage-free, trained on kernels "
         "compiled at one level, tested on held-out kernels compiled at another, frozen")
DECISION_TITLE = ("Does pre-training's invariance carry to the decision probe? (compiler "
                  "decisions, the probe's logistic regression trained on -O0 IR and tested on "
                  "the held-out folds' IR at another level, frozen")
JOTAI_SETTING = "vectorised? Jotai macro-F1 (template folds)"
"""The enlarged probe's headline column: the generated loops' macro-F1 of vectorised?."""
LEVEL_SHIFT_KEYS = tuple(f"level_shift{output}{probe}" for output in ("", "_tokens", "_graph")
                         for probe in ("", "_decisions"))
"""``results/summary.json`` keys of the diagnostic: DevMap, then the decision probe, per
output (fused, tokens, graph)."""


def level_shift_key(embedding: str) -> str:
    """The summary key of the DevMap diagnostic run on one output of every package (the
    decision probe's: the same with ``_decisions``)."""
    return "level_shift" if embedding == "fused" else f"level_shift_{embedding}"


def _is_decisions(section: dict[str, Any]) -> bool:
    return section.get("kind") == "decisions"


def _output(section: dict[str, Any]) -> str:
    embedding = section.get("embedding", "fused")
    return "" if embedding == "fused" else f", {embedding} output"


def shift_label(train: str, test: str) -> str:
    """``trained at O0, tested at O2``: one pair of levels, as a table row and a dict key."""
    return f"trained at {train}, tested at {test}"


def level_shift_markdown(section: dict[str, Any]) -> str:
    """One row per (pair of levels, representation), one column per setting; then the
    retrieval table (the kernels' other levels nearest)."""
    if _is_decisions(section):
        return sweep_markdown(section, f"{DECISION_TITLE}{_output(section)})", "levels",
                              "decision scores when the held-out programs come at another "
                              "level") + added_markdown(section)
    text = sweep_markdown(section, f"{TITLE}{_output(section)})", "levels",
                          "accuracy when the test kernels are compiled at another level")
    return text + retrieval_markdown(section) + added_markdown(section)


def added_markdown(section: dict[str, Any]) -> str:
    """Which rows were added to the recorded section later (``level_shift_add``), and how
    closely the rescored rows repeated their recorded cells there."""
    lines = [f"Rows added later, scored alone ({', '.join(a['rows'])}): "
             f"{', '.join(a['checked'])} rescored beside them repeated the recorded cells "
             f"within {a['largest_difference']:.2f} (tolerance {a['tolerance']:g}; points per "
             "fold seed, precision@1 as a fraction)." for a in section.get("added", [])]
    return "".join(f"\n{line}\n" for line in lines)


def retrieval_markdown(section: dict[str, Any]) -> str:
    """Cross-level retrieval on the DevMap kernels, one row per representation, one column per
    ordered pair of levels and their mean."""
    retrieval = section.get("retrieval", {})
    if not retrieval:
        return ""
    pairs = list(next(iter(retrieval.values()))["pairs"])
    lines = ["", "Cross-level retrieval on the same kernels: precision@1 (%) of finding a kernel "
             "compiled at one level among all kernels compiled at another (cosine on the raw "
             "vectors, as the invariance probe; a tie counts its expected share):", "",
             "| representation | " + " | ".join(p.replace("->", " → ") for p in pairs)
             + " | mean |", "|---|" + "---|" * (len(pairs) + 1)]

    def row(label: str, values: list[dict[str, Any]]) -> None:
        cells = [[100 * v["pairs"][p] for v in values] for p in pairs]
        cells.append([100 * v["precision_at_1"] for v in values])
        text = [spread_cell(c, 1) if len(values) > 1 else f"{c[0]:.1f}" for c in cells]
        lines.append(f"| {label} | " + " | ".join(text) + " |")

    labels = section.get("labels", {})
    if ENCODER in retrieval:
        row("pre-trained encoder", [retrieval[ENCODER]])
    for name in (n for n in section.get("controls", []) if n in labels and n in retrieval):
        row(row_label(section, name), [retrieval[name]])
    twins = [retrieval[t] for t in section["twins"] if t in retrieval]
    if twins:
        row(f"untrained twins ({len(twins)})", twins)
    for name in (n for n in section.get("controls", []) if n not in labels and n in retrieval):
        row(row_label(section, name), [retrieval[name]])
    return "\n".join(lines) + "\n"


def shift_drops(section: dict[str, Any], name: str) -> dict[str, dict[str, float]]:
    """``shifted pair label -> setting -> points lost`` by feature set ``name`` (``twins``: the
    twins' mean) against training and testing at the test level (the same test rows), or at
    the training level where the section has no such pair (the decision probe)."""
    def score(label: str, setting: str) -> float | None:
        per = section["scores"].get(label, {}).get(setting, {})
        if name == "twins":
            means = twin_means(per, section["twins"])
            return float(np.mean(means)) if means else None
        return float(np.mean(per[name])) if per.get(name) else None

    drops: dict[str, dict[str, float]] = {}
    for train, test in section["pairs"]:
        if train == test:
            continue
        label = shift_label(train, test)
        reference = shift_label(test, test)
        if reference not in section["scores"]:
            reference = shift_label(train, train)
        for setting in section["settings"]:
            shifted, same = score(label, setting), score(reference, setting)
            if shifted is not None and same is not None:
                drops.setdefault(label, {})[setting] = same - shifted
    return drops


def level_shift_statements(section: dict[str, Any]) -> list[str]:
    """One Targets line: per pair, the encoder minus its twins' mean on each setting, and for
    a shifted pair the points each loses to the shift (DevMap: the shifted pairs only; the
    decision probe: its own level too)."""
    gaps = sweep_gaps(section) if section else {}
    if not gaps:
        return []
    encoder, twins = shift_drops(section, ENCODER), shift_drops(section, "twins")
    decisions = _is_decisions(section)
    parts = []
    for label in (label for label in section["fractions"]
                  if label in encoder or (decisions and label in gaps)):
        cells = " / ".join(f"{gaps[label][s]:+.1f}" if s in gaps.get(label, {}) else "–"
                           for s in section["settings"])
        lost = " / ".join(f"{encoder[label].get(s, np.nan):.1f} vs "
                          f"{twins.get(label, {}).get(s, np.nan):.1f}"
                          for s in section["settings"]) if label in encoder else ""
        parts.append(f"{label} {cells}" + (f" (points lost to the shift, encoder vs twins: "
                                            f"{lost})" if lost else ""))
    what = ("the probe's logistic regression trained on -O0 IR and tested on the held-out "
            "folds' IR at another level" if decisions else "DevMap leakage-free, frozen, the "
            "protocol's XGBoost trained on the kernels at one level and tested on the held-out "
            "kernels at another")
    title = "optimisation-level shift of the decision probe" if decisions else (
        "optimisation-level shift")
    question = "the decision probe" if decisions else "DevMap"
    return [f"**{title}{_output(section)}** ({what}, {section['seeds']} fold seeds; Does "
            f"pre-training's invariance carry to {question}?), the encoder minus its "
            f"{len(section['twins'])} untrained twins' mean, points "
            f"({' / '.join(section['settings'])}): " + "; ".join(parts)
            + _retrieval_clause(section) + "."]


def _retrieval_clause(section: dict[str, Any]) -> str:
    """``; cross-level precision@1 ...``: the encoder, the twins' mean and the opcode histogram
    (mean over the ordered pairs of levels), when the section holds them."""
    retrieval = section.get("retrieval", {})
    twins = [retrieval[t]["precision_at_1"] for t in section["twins"] if t in retrieval]
    if ENCODER not in retrieval or not twins:
        return ""
    histogram = retrieval.get("opcode-histogram")
    return (f"; cross-level precision@1 on the same kernels (mean over the pairs of "
            f"{', '.join(section['levels'])}) {100 * retrieval[ENCODER]['precision_at_1']:.1f} % "
            f"against the twins' {100 * float(np.mean(twins)):.1f} %"
            + (f" (opcode histogram {100 * histogram['precision_at_1']:.1f} %)" if histogram
               else ""))


def draw_level_shift(section: dict[str, Any], png: Path) -> Path:
    """One panel per setting: accuracy per pair of levels for the encoder, the twins (mean,
    whiskers from the worst to the best twin) and each control."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings, labels = section["settings"], list(section["fractions"])
    names = [ENCODER, "twins", *section.get("controls", [])]
    columns = min(4 if len(labels) < 4 else 2, len(settings))
    rows = -(-len(settings) // columns)
    # the legend below the panels: as many columns as the width holds (a row label runs to
    # ~50 characters)
    legend_columns = max(1, min(5, int(5.2 * columns / 3.4), len(names)))
    fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 3.6 * rows), squeeze=False)
    for ax in axes.flat[len(settings):]:
        ax.set_visible(False)
    width = 0.8 / len(names)
    # ten default colours repeat past ten rows; tab20 keeps up to twenty apart
    colours = [f"C{i}" for i in range(10)] if len(names) <= 10 else list(
        plt.get_cmap("tab20").colors)
    x = np.arange(len(labels))
    lowest = np.nanmin([np.mean(v) for per in section["scores"].values()
                        for cells in per.values() for v in cells.values() if v] or [60.0])
    for ax, setting in zip(axes.flat, settings, strict=False):
        for i, name in enumerate(names):
            per = [section["scores"][label].get(setting, {}) for label in labels]
            if name == "twins":
                means = [twin_means(p, section["twins"]) or [np.nan] for p in per]
                centre = np.array([np.mean(m) for m in means])
                err = np.array([[c - np.min(m), np.max(m) - c] for c, m in zip(centre, means,
                                                                               strict=True)]).T
                label = f"untrained twins ({len(section['twins'])}, mean and range)"
            else:
                centre = np.array([np.mean(p.get(name) or [np.nan]) for p in per])
                err, label = None, ("pre-trained encoder" if name == ENCODER
                                    else row_label(section, name))
            # past twenty rows the colours come round again, hatched
            ax.bar(x + (i - (len(names) - 1) / 2) * width, centre, width, yerr=err,
                   label=label, color=colours[i % len(colours)], capsize=2,
                   hatch="////" if i >= len(colours) else None, edgecolor="white", lw=0)
        ax.set_xticks(x, [label.replace("trained at ", "").replace(", tested at ", "→")
                          for label in labels], fontsize=7)
        ax.set_ylim(max(0.0, 5 * np.floor(lowest / 5) - 5), 100)
        ax.set_title(setting + (" (leakage-free)" if setting.startswith("devmap") else ""),
                     fontsize=9)
        ax.set_xlabel("training level → test level")
        ax.set_ylabel("macro-F1 %" if setting == JOTAI_SETTING else "accuracy %")
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3, axis="y")
    handles, names_shown = axes.flat[0].get_legend_handles_labels()
    return save_figure(fig, png, rect=legend_below(fig, handles, names_shown,
                                                   columns=legend_columns))
