"""Compiler decisions by arm: the section, its tables and its figure (the command is
``decision_probe_study.py``).

Section layout (``results/summary.json`` key ``decision_probe_arms``): ``columns`` (names);
``arms``, each ``{"label", "rows", "values": {row: [value per column]}}`` (a row is a probe
folder, ``#method`` naming another method than the fused ``encoder``); ``controls``
(``{method: [value per column]}``, the majority class included); ``twins`` (the labels of the
arms of untrained twins: each other arm is measured against the one whose rows read the same
method); ``programs`` (the decision probe's counts, equal in every folder);
``note``.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from .figures import legend_below, save_figure
from .table_cells import mean_range_cell

__all__ = ["KEY", "TASKS", "GROUPINGS", "COLUMNS", "arm_method", "corpus_columns", "probe_row", "decision_section",
           "decision_probe_markdown", "decision_probe_statements", "draw_decision_probe"]

KEY = "decision_probe_arms"
TASKS = (("vectorized", "vectorised?"), ("vf", "VF"), ("ic", "IC"))
GROUPINGS = (("source", "source folds"), ("template", "template folds"))
METRICS = (("accuracy", "accuracy"), ("macro_f1", "macro-F1"))
COLUMNS = ("invariance MAP@R", *(
    f"{task_title} {metric_title} ({grouping_title})"
    for metric, metric_title in METRICS for grouping, grouping_title in GROUPINGS
    for task, task_title in TASKS))
HEADLINE = "vectorised? accuracy (template folds)"
HEADLINE_F1 = "vectorised? macro-F1 (template folds)"


def _split_row(row: str) -> tuple[Path, str]:
    folder, _, method = row.partition("#")
    return Path(folder), method or "encoder"


def _probes(folder: Path) -> dict[str, Any]:
    path = folder / "probes.json"
    if not path.is_file():
        raise ValueError(f"{folder}: no probes.json (run `mirencoder eval probes --out-dir` there)")
    return json.loads(path.read_text())


def corpus_columns(corpora: list[str]) -> list[str]:
    """The by-corpus columns: the headline task on template folds, on each corpus's rows."""
    return [f"{corpus}: vectorised? {title} (template folds)"
            for corpus in corpora for _, title in METRICS]


def _values(data: dict[str, Any], method: str, corpora: list[str]) -> list[float | None]:
    retrieval = data["retrieval"]["methods"].get(method, {}).get("map_at_r")
    out: list[float | None] = [retrieval]
    groupings = data["decisions"]["groupings"]

    def scores_of(grouping: str, task: str) -> dict[str, Any] | None:
        info = groupings.get(grouping, {}).get(task, {})
        return (info.get("majority") if method == "majority class"
                else info.get("methods", {}).get(method))

    for metric, _ in METRICS:
        for grouping, _ in GROUPINGS:
            for task, _ in TASKS:
                scores = scores_of(grouping, task)
                out.append(100 * scores[metric] if scores else None)
    by_corpus = (scores_of("template", "vectorized") or {}).get("by_corpus", {})
    for corpus in corpora:
        for metric, _ in METRICS:  # folders scored before by-corpus scores existed: None
            value = by_corpus.get(corpus, {}).get(metric)
            out.append(100 * value if value is not None else None)
    return out


def probe_row(row: str) -> tuple[list[float | None], dict[str, Any]]:
    """One row's value per :data:`COLUMNS` and its folder's decision counts.

    Raises:
        ValueError: no probes.json there, or the method is not in it.
    """
    folder, method = _split_row(row)
    data = _probes(folder)
    if method not in data["methods"]:
        raise ValueError(f"{folder}: no method {method!r} (it has {sorted(data['methods'])})")
    counts = data["decisions"]["counts"]
    return _values(data, method, sorted(counts.get("programs", {}))), counts


def arm_method(rows: list[str]) -> str:
    """The one method an arm's rows read (``encoder`` unless ``#METHOD`` says otherwise).

    Raises:
        ValueError: rows of one arm that read different methods.
    """
    methods = {_split_row(row)[1] for row in rows}
    if len(methods) != 1:
        raise ValueError(f"an arm's rows read different methods: {sorted(methods)}")
    return methods.pop()


def decision_section(arms: list[tuple[str, list[str]]], twins: list[str], controls: str | None,
                     note: str = "") -> dict[str, Any]:
    """The section; refuses folders whose decision probe chose other programs.

    Raises:
        ValueError: an unknown twins label, two twins arms of one method, an arm of mixed
            methods, a missing folder or method, or unequal programs.
    """
    methods = {label: arm_method(rows) for label, rows in arms}
    for label in twins:
        if label not in methods:
            raise ValueError(f"--twins {label!r} is not an arm label")
    twin_methods = [methods[label] for label in twins]
    if len(set(twin_methods)) < len(twin_methods):
        raise ValueError("two --twins arms read the same method")
    counts: dict[str, Any] | None = None
    values: dict[str, dict[str, list[float | None]]] = {}
    for label, rows in arms:
        values[label] = {}
        for row in rows:
            values[label][row], row_counts = probe_row(row)
            if counts is None:
                counts = row_counts
            elif row_counts != counts:
                raise ValueError(f"{row}: its decision probe chose other programs than the "
                                 "first row's (same settings and --dataset needed)")
    corpora = sorted((counts or {}).get("programs", {}))
    control_values: dict[str, list[float | None]] = {}
    if controls:
        data = _probes(Path(controls))
        if data["decisions"]["counts"] != counts:
            raise ValueError(f"{controls}: its decision probe chose other programs")
        control_values["majority class"] = _values(data, "majority class", corpora)
        for method in data["methods"]:
            if not method.startswith("encoder"):
                control_values[method] = _values(data, method, corpora)
    columns = [*COLUMNS, *corpus_columns(corpora)]
    return {"columns": columns, "twins": list(twins),
            "arms": [{"label": label, "rows": rows, "values": values[label]}
                     for label, rows in arms],
            "controls": control_values, "programs": counts or {}, "note": note}


def append_arms(recorded: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``recorded`` (a published section) with ``new``'s arms added, each just before the
    recorded twins arm of its method (at the end where there is none); ``new``'s twins and
    note join the recorded ones, the recorded controls stay. Arms whose probe folders are gone
    keep their recorded values, so a later session can add arms without rescoring them.

    Raises:
        ValueError: ``new`` scored other programs or columns, or reuses a recorded label.
    """
    if new["programs"] != recorded["programs"] or new["columns"] != recorded["columns"]:
        raise ValueError("the new arms' decision probe chose other programs than the recorded "
                         "section's (same settings and --dataset needed)")
    labels = {arm["label"] for arm in recorded["arms"]}
    clash = sorted(labels & {arm["label"] for arm in new["arms"]})
    if clash:
        raise ValueError(f"arm labels already in the recorded section: {clash}")
    arms = list(recorded["arms"])
    for arm in new["arms"]:
        method = arm_method(arm["rows"])
        twins = [i for i, a in enumerate(arms)
                 if a["label"] in recorded["twins"] and arm_method(a["rows"]) == method]
        arms.insert(twins[0] if twins else len(arms), arm)
    note = "\n\n".join(n for n in (recorded.get("note", ""), new.get("note", "")) if n)
    return {**recorded, "arms": arms, "twins": [*recorded["twins"], *new["twins"]],
            "note": note}


def _column(section: dict[str, Any], arm: dict[str, Any], name: str) -> list[float]:
    index = section["columns"].index(name)
    return [v[index] for v in arm["values"].values() if v[index] is not None]


def decision_probe_statements(section: dict[str, Any]) -> list[str]:
    """Each arm against the twins on the headline columns (and each corpus's macro-F1): mean
    difference, runs above the best twin."""
    twins_by_method = {arm_method(a["rows"]): a for a in section["arms"]
                       if a["label"] in section["twins"]}
    out = []
    for arm in section["arms"]:
        twins = twins_by_method.get(arm_method(arm["rows"]))
        if twins is None or arm is twins:
            continue
        parts = []
        by_corpus_f1 = [c for c in section["columns"][len(COLUMNS):] if "macro-F1" in c]
        for name in (HEADLINE, HEADLINE_F1, *by_corpus_f1):
            mine, theirs = _column(section, arm, name), _column(section, twins, name)
            if mine and theirs:
                above = sum(v > max(theirs) for v in mine)
                parts.append(f"{name} {np.mean(mine):.1f} against {np.mean(theirs):.1f} "
                             f"({np.mean(mine) - np.mean(theirs):+.1f} points; {above} of "
                             f"{len(mine)} runs above the best twin)")
        out.append(f"{arm['label']} (against {twins['label']}): " + "; ".join(parts))
    return out


def _table(section: dict[str, Any], names: list[str], digits: int) -> list[str]:
    index = [section["columns"].index(n) for n in names]
    lines = ["| arm | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for arm in section["arms"]:
        cells = [mean_range_cell([v[i] for v in arm["values"].values()], digits if i else 3)
                 for i in index]
        lines.append(f"| {arm['label']} ({len(arm['rows'])}) | " + " | ".join(cells) + " |")
    for method, values in section.get("controls", {}).items():
        cells = [mean_range_cell([values[i]], digits if i else 3) for i in index]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def decision_probe_markdown(section: dict[str, Any]) -> str:
    """Two tables (accuracy with MAP@R, then macro-F1), one line per arm (mean, range over its
    runs) and per control, the statements and the figure."""
    columns = section["columns"]
    programs = section.get("programs", {})
    title = ("Compiler decisions on the enlarged probe (NeuroVectorizer kernels and every "
             "held-out Jotai loop), by arm")
    lines = [f"## {title}", "", section.get("note", ""), ""]
    if programs:
        lines += ["Programs: " + ", ".join(f"{c} {n}" for c, n in
                                           programs.get("programs", {}).items())
                  + "; groups: " + ", ".join(f"{g} {n}" for g, n in
                                            programs.get("groups", {}).items()) + ".", ""]
    by_corpus = columns[len(COLUMNS):]
    accuracy = [c for c in COLUMNS if "accuracy" in c]
    f1 = [c for c in COLUMNS if "macro-F1" in c]
    lines += _table(section, [columns[0], *accuracy], 1) + [""] + _table(section, f1, 1)
    if by_corpus:
        lines += ["", "The same out-of-fold predictions scored on each corpus's programs alone:",
                  ""] + _table(section, by_corpus, 1)
    lines += ["", "Against the untrained twins:", ""]
    lines += [f"- {s}" for s in decision_probe_statements(section)]
    if section.get("figure"):
        lines += ["", f"![compiler decisions by arm]({section['figure']})"]
    lines += ["", "Rows: " + "; ".join(f"{a['label']}: " + ", ".join(f"`{r}`" for r in a["rows"])
                                       for a in section["arms"]) + "."]
    return "\n".join(lines) + "\n"


_DRAWN_CONTROLS = {"majority class": ("0.2", ":"), "opcode-histogram": ("tab:brown", "--"),
                   "ir2vec-fa": ("tab:olive", "-.")}
"""Controls drawn as vertical lines (the others coincide with the majority class on template
folds, or lie far below)."""


def draw_decision_probe(section: dict[str, Any], png: Path) -> Path:
    """Per arm, each run as a dot: vectorised? accuracy and macro-F1 on template folds, and the
    macro-F1 on each corpus's programs alone; the controls as vertical lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = section["arms"]
    panels = [HEADLINE, HEADLINE_F1,
              *(c for c in section["columns"][len(COLUMNS):] if "macro-F1" in c)]
    # each arm's row as tall as its wrapped label (labels of four or five lines overlapped
    # when every row had the same height)
    wrapped = [textwrap.fill(a["label"], 34) for a in arms]
    lines = [w.count("\n") + 1 for w in wrapped]
    ys = [0.0]
    for above, below in zip(lines[:-1], lines[1:], strict=True):
        ys.append(ys[-1] + max(3.5, (above + below) / 2 + 0.8))
    line_in = 0.13
    height = line_in * (ys[-1] + (lines[0] + lines[-1]) / 2 + 2) + 1.6
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels) + 2.6, height),
                             sharey=True)
    for ax, name in zip(axes, panels, strict=True):
        for i, (y, arm) in enumerate(zip(ys, arms, strict=True)):
            xs = _column(section, arm, name)
            ax.scatter(xs, [y] * len(xs), color=f"C{i % 10}", s=28, alpha=0.8)
        index = section["columns"].index(name)
        for method, (color, style) in _DRAWN_CONTROLS.items():
            value = section.get("controls", {}).get(method, [None] * (index + 1))[index]
            if value is not None:
                ax.axvline(value, color=color, ls=style, lw=1.2, label=method)
        ax.set_xlabel(textwrap.fill(f"{name}, %", 34), fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(ys, wrapped, fontsize=7)
    axes[0].invert_yaxis()
    handles, labels = axes[0].get_legend_handles_labels()
    return save_figure(fig, png, rect=legend_below(fig, handles, labels))
