"""The Targets section's table: every target of the report's encoder on one line each, with
what it needs, what the encoder scored, and where RESULTS.md shows what limits it.

The sentences under the table (``report_markdown.target_statements`` and the probe, twin and
diagnostic statements) give the detail; this is the page a reader scans first.
"""

from __future__ import annotations

from typing import Any

from .probes.report import TASK_TITLES
from .probes.targets import DECISION_MARGIN, MAP_MARGIN, MAP_RATIO
from .published import TARGETS
from .table_cells import best_other

__all__ = ["target_rows", "target_table_markdown"]

_DIAGNOSTICS = {
    "devmap-leakage-free": ("program_dims",
                            "see 'How many program dimensions the DevMap head can use'"),
    "coarsening-leakage-free": ("coarsening_resolution",
                                "see 'How finely thread coarsening leakage-free separates "
                                "representations'"),
}
"""What limits a target, where the report holds the diagnostic (its summary key) that shows
it; without it the row points at the controls."""
_CONTROLS = "see 'What the controls show'"
_PLATFORMS = ("amd", "nvidia")


def _encoder(cells: dict[str, Any], key: str) -> float | None:
    cell = cells.get("encoder")
    return None if cell is None else cell[key]


def _peers(platforms: dict[str, Any], key: str, digits: int, unit: str) -> str:
    """``best other: ir2vec-fa 90.9 / opcode-histogram 88.9 %; run-time inputs alone ...``:
    how high the other rows of a literature protocol reach (its table has them all)."""
    keys = [p for p in (*_PLATFORMS, "average") if p in platforms]
    best = [best_other({m: v for m, v in platforms[p].items() if m != "runtime-only"}, key)
            for p in keys]
    text = "best other: " + " / ".join(f"{b[0]} {b[1]:.{digits}f}" for b in best if b) + unit
    runtime = [platforms[p].get("runtime-only") for p in keys]
    if None not in runtime:
        text += ("; run-time inputs alone " + " / ".join(f"{r[key]:.{digits}f}" for r in runtime)
                 + unit)
    oracle = [platforms[p].get("oracle") for p in keys]
    if unit == "x" and None not in oracle:  # an accuracy oracle is 100 %: nothing to read
        text += "; oracle " + " / ".join(f"{o[key]:.{digits}f}" for o in oracle) + unit
    return text


def _devmap_rows(task: str, protocols: dict[str, Any], limits: dict[str, str]
                 ) -> list[tuple[str, ...]]:
    rows = []
    for protocol, platforms in protocols.items():
        values = [_encoder(platforms.get(p, {}), "accuracy_mean") for p in _PLATFORMS]
        if None in values:
            continue
        shown = " / ".join(f"{v:.1f}" for v in values)
        if protocol.startswith("literature"):
            goal = TARGETS["devmap"]
            ok = all(v >= goal[p] for v, p in zip(values, _PLATFORMS, strict=True))
            rows.append((f"{task}, {protocol}", f">= {goal['amd']:.1f} / {goal['nvidia']:.1f} %",
                         f"{shown} %", ok, _peers(platforms, "accuracy_mean", 1, " %")))
            continue
        best = [best_other(platforms[p], "accuracy_mean") for p in _PLATFORMS]
        if None not in best:
            ok = all(v > b[1] for v, b in zip(values, best, strict=True))
            rows.append((f"{task}, {protocol}: ahead of every baseline",
                         "above " + " / ".join(f"{b[0]} {b[1]:.1f}" for b in best),
                         f"{shown} %", ok, limits["devmap-leakage-free"]))
        twins = [platforms[p].get("encoder-untrained") for p in _PLATFORMS]
        if None not in twins:
            margin = TARGETS["pretraining"]["devmap_twin_margin"]
            gains = [v - t["accuracy_mean"] for v, t in zip(values, twins, strict=True)]
            rows.append((f"{task}, {protocol}: pre-training", f"untrained twin + {margin:.0f} "
                         "points on both", " / ".join(f"{g:+.1f}" for g in gains) + " points",
                         all(g >= margin for g in gains), limits["devmap-leakage-free"]))
    return rows


def _coarsening_rows(protocols: dict[str, Any], limits: dict[str, str]
                     ) -> list[tuple[str, ...]]:
    rows = []
    for protocol, platforms in protocols.items():
        cells = platforms.get("average", {})
        value = _encoder(cells, "speedup_mean")
        if value is None:
            continue
        if protocol == "literature":
            goal = TARGETS["thread-coarsening"]["average"]
            rows.append(("thread coarsening, literature", f">= {goal:.2f}x", f"{value:.3f}x",
                         value >= goal, _peers({"average": cells}, "speedup_mean", 3, "x")))
            continue
        best = best_other(cells, "speedup_mean")
        if best is not None:
            rows.append(("thread coarsening, leakage-free: ahead of every baseline",
                         f"above {best[0]} {best[1]:.3f}x", f"{value:.3f}x", value > best[1],
                         limits["coarsening-leakage-free"]))
        goal = TARGETS["pretraining"]["coarsening_leakage_free"]
        rows.append(("thread coarsening, leakage-free: pre-training", f">= {goal:.2f}x",
                     f"{value:.3f}x", value >= goal, limits["coarsening-leakage-free"]))
    return rows


def _probe_rows(probes: dict[str, Any]) -> list[tuple[str, ...]]:
    rows = []
    retrieval = probes.get("retrieval", {}).get("methods", {})
    if {"encoder", "encoder-untrained", "opcode-histogram"} <= set(retrieval):
        value = retrieval["encoder"]["map_at_r"]
        goal = max(MAP_RATIO * retrieval["encoder-untrained"]["map_at_r"],
                   retrieval["opcode-histogram"]["map_at_r"] + MAP_MARGIN)
        rows.append(("probes, optimisation-invariance MAP@R",
                     f">= {goal:.3f} ({MAP_RATIO:.0f}x the twin, opcode histogram + "
                     f"{MAP_MARGIN:.2f})", f"{value:.3f}", value >= goal,
                     "see the retrieval table"))
    for grouping, tasks in probes.get("decisions", {}).get("groupings", {}).items():
        gaps, below, best_controls = [], [], []
        for task, info in tasks.items():
            methods = info.get("methods", {})
            if not {"encoder", "encoder-untrained", "opcode-histogram"} <= set(methods):
                continue
            value = methods["encoder"]["accuracy"]
            gaps.append(value - methods["encoder-untrained"]["accuracy"])
            if value <= methods["opcode-histogram"]["accuracy"]:
                title = TASK_TITLES.get(task, task)
                below.append(title)
                best = best_other({m: v for m, v in methods.items()
                                   if m != "template-identity"}, "accuracy")
                best_controls.append(f"{title} (best control: {best[0]} {best[1]:.3f})"
                                     if best else title)
        ok = all(g >= DECISION_MARGIN for g in gaps) and not below
        if gaps:
            shown = " / ".join(f"{100 * g:+.1f}" for g in gaps) + " points vs twin"
            named = any("template-identity" in info.get("methods", {}) for info in tasks.values())
            limit = ("see the template-identity row: naming a near-copy's template does most of "
                     "it" if grouping == "source" and named else "see the compiler-decision "
                     "tables")
            if below:
                shown += "; not above the opcode histogram on " + ", ".join(below)
                limit = "; ".join(best_controls) + "; " + limit
            rows.append((f"probes, compiler decisions ({grouping} folds)",
                         f"twin + {100 * DECISION_MARGIN:.0f} points and above the opcode "
                         f"histogram, {len(gaps)} tasks", shown, ok, limit))
    return rows


def target_rows(summary: dict[str, Any]) -> list[tuple[str, ...]]:
    """``(target, required, encoder, met, what limits it)`` per target of the
    report's encoder (``met`` a bool); ``[]`` without encoder rows."""
    results = summary.get("results", {})
    limits = {target: text if summary.get(key) else _CONTROLS
              for target, (key, text) in _DIAGNOSTICS.items()}
    rows = []
    for task in sorted(t for t in results if t.startswith("devmap")):
        rows += _devmap_rows(task, results[task], limits)
    rows += _coarsening_rows(results.get("thread-coarsening", {}), limits)
    rows += _probe_rows(summary.get("probes", {}))
    return rows


def target_table_markdown(summary: dict[str, Any]) -> list[str]:
    """The table's lines (``[]`` when no target can be judged), a count line first."""
    rows = target_rows(summary)
    if not rows:
        return []
    met = sum(1 for row in rows if row[3])
    lines = [f"{met} of {len(rows)} targets met by the report's encoder; the sentences below "
             "give every number beside its controls.", "",
             "| target | needs | encoder | met | what limits it |",
             "|---|---|---|---|---|"]
    lines += [f"| {name} | {needs} | {value} | {'yes' if ok else '**no**'} | "
              f"{'–' if ok else limit} |" for name, needs, value, ok, limit in rows]
    return lines + [""]
