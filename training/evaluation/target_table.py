"""The Targets section's table: every target of the report's encoder on one line each, with
what it needs, what the encoder scored, and where RESULTS.md shows what limits it.

The targets are judged once (``target_checks.judge``); the sentences under the table
(``report_markdown.target_statements``, ``probes.targets``, the twin and diagnostic
statements) render the same checks with every number beside its controls. This is the page a
reader scans first.
"""

from __future__ import annotations

from typing import Any

from .probes.report import TASK_TITLES
from .published import TARGETS
from .study_pages import study_page
from .table_cells import best_other
from .target_checks import (
    AHEAD,
    DECISION_MARGIN,
    DECISIONS,
    INVARIANCE,
    LITERATURE,
    MAP_MARGIN,
    MAP_RATIO,
    PLATFORMS,
    PRETRAINING,
    SPEED,
    Check,
    Target,
    is_coarsening,
    judge,
    task_scale,
)

__all__ = ["target_rows", "target_table_markdown", "speed_others"]

_DIAGNOSTICS = {
    "devmap-leakage-free": ("program_dims",
                            "How many program dimensions the DevMap head can use"),
    "coarsening-leakage-free": ("coarsening_resolution", "How finely thread coarsening "
                                "leakage-free separates representations"),
    "devmap-pretraining": ("devmap_resolution", "How finely DevMap leakage-free separates "
                           "encoders"),
}
"""What limits a target, where the report holds the diagnostic (its summary key and its
section's title) that shows it; the row links its page. Without it the row points at the
controls (the DevMap pre-training rows, without their own, at the DevMap leakage-free one)."""
_CONTROLS = "see 'What the controls show'"


def _peers(platforms: dict[str, Any], key: str, digits: int, unit: str) -> str:
    """``best other: ir2vec-fa 90.9 / opcode-histogram 88.9 %; run-time inputs alone ...``:
    how high the other rows of a literature protocol reach (its table has them all)."""
    keys = [p for p in (*PLATFORMS, "average") if p in platforms]
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


def _row_name(target: Target) -> str:
    name = target.where.replace("thread-coarsening", "thread coarsening")
    return name + {AHEAD: ": ahead of every baseline", PRETRAINING: ": pre-training"}.get(
        target.kind, "")


def _joined(checks: list[Check], digits: int, field: str = "value") -> str:
    return " / ".join(f"{getattr(c, field):.{digits}f}" for c in checks)


def _downstream_row(target: Target, platforms: dict[str, Any], limits: dict[str, str]
                    ) -> tuple[Any, ...]:
    is_tc, checks, digits = is_coarsening(target.source), list(target.checks), target.digits
    _, metric, _, _ = task_scale(target.source[0], platforms)
    scored = _joined(checks, digits) + target.unit
    limit = limits.get("coarsening-leakage-free" if is_tc else "devmap-leakage-free", _CONTROLS)
    if target.kind == LITERATURE:
        shown = {c.label: platforms[c.label] for c in checks}
        return (_row_name(target), f">= {_joined(checks, 2 if is_tc else 1, 'goal')}"
                f"{target.unit}", scored, target.met, _peers(shown, metric, digits, target.unit))
    if target.kind == AHEAD:
        needs = "above " + " / ".join(f"{c.reference} {c.goal:.{digits}f}" for c in checks)
        return (_row_name(target), needs + ("x" if is_tc else ""), scored, target.met, limit)
    if is_tc:
        return (_row_name(target), f">= {checks[0].goal:.2f}x", scored, target.met, limit)
    margin = TARGETS["pretraining"]["devmap_twin_margin"]
    return (_row_name(target), f"untrained twin + {margin:.0f} points on both",
            " / ".join(f"{c.margin:+.1f}" for c in checks) + " points", target.met,
            limits.get("devmap-pretraining", limit))


def _invariance_row(target: Target) -> tuple[Any, ...]:
    named = {"encoder-untrained": f"{MAP_RATIO:.0f}x the twin",
             "opcode-histogram": f"opcode histogram + {MAP_MARGIN:.2f}"}
    goal = max(c.goal for c in target.checks)
    needs = ", ".join(named.get(c.reference, c.reference) for c in target.checks)
    return (target.where, f">= {goal:.3f} ({needs})", f"{target.checks[0].value:.3f}",
            target.met, "see the retrieval table")


def _decisions_row(target: Target, tasks: dict[str, Any]) -> tuple[Any, ...]:
    gaps = [c.margin for c in target.by_reference("encoder-untrained")]
    below = [c.label for c in target.by_reference("opcode-histogram") if not c.met]
    shown = " / ".join(f"{100 * g:+.1f}" for g in gaps) + " points vs twin"
    grouping = target.source[1]
    named = any("template-identity" in info.get("methods", {}) for info in tasks.values())
    limit = ("see the template-identity row: naming a near-copy's template does most of it"
             if grouping == "source" and named else "see the compiler-decision tables")
    if below:
        shown += "; not above the opcode histogram on " + ", ".join(below)
        controls = []
        for task, info in tasks.items():
            title = TASK_TITLES.get(task, task)
            if title in below:
                best = best_other({m: v for m, v in info.get("methods", {}).items()
                                   if m != "template-identity"}, "accuracy")
                controls.append(f"{title} (best control: {best[0]} {best[1]:.3f})"
                                if best else title)
        limit = "; ".join(controls) + "; " + limit
    return (target.where, f"twin + {100 * DECISION_MARGIN:.0f} points and above the opcode "
            f"histogram, {len(gaps)} tasks", shown, target.met, limit)


def _speed_row(target: Target, speed: dict[str, Any]) -> tuple[Any, ...]:
    check = target.checks[0]
    entry = speed["policies"][check.label]
    return ("embedding speed, default window policy", "faster per file than IR2Vec flow-aware "
            "(BENCHMARKS.md embed)", f"{entry['encoder_ms']:.2f} vs {entry['ir2vec_fa_ms']:.2f} "
            f"ms/file ({check.value:.2f}x)" + speed_others(speed), target.met,
            "see BENCHMARKS.md embed")


def speed_others(speed: dict[str, Any]) -> str:
    """``; pool:4 (not the default) 0.30x``: the window policies measured that the target
    does not judge."""
    others = [e for e in speed.get("policies", {}).values() if not e.get("default")]
    return "".join(f"; {e['policy']} (not the default) {e['ir2vec_fa_ms'] / e['encoder_ms']:.2f}x"
                   for e in others)


def target_rows(summary: dict[str, Any]) -> list[tuple[Any, ...]]:
    """``(target, required, encoder, met, what limits it)`` per target of the
    report's encoder (``met`` a bool); ``[]`` without encoder rows."""
    results, probes = summary.get("results", {}), summary.get("probes", {})
    limits = {target: f"see [{title}]({study_page(key)})"
              for target, (key, title) in _DIAGNOSTICS.items() if summary.get(key)}
    rows = []
    for target in judge(summary):
        if target.kind == INVARIANCE:
            rows.append(_invariance_row(target))
        elif target.kind == SPEED:
            rows.append(_speed_row(target, summary["embedding_speed"]))
        elif target.kind == DECISIONS:
            tasks = probes["decisions"]["groupings"][target.source[1]]
            rows.append(_decisions_row(target, tasks))
        else:
            task, protocol = target.source
            rows.append(_downstream_row(target, results[task][protocol], limits))
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
