"""The issue's probe targets as plain sentences for RESULTS.md (judged in ``target_checks``).

- Optimisation-invariance MAP@R (fused): at least 2x the untrained twin's and at least the
  opcode histogram's + 0.10.
- Compiler-decision accuracy (fused, every task and fold grouping): at least the untrained
  twin's + 5 points and above the opcode histogram's.
"""

from __future__ import annotations

from typing import Any

from ..table_cells import verdict
from ..target_checks import INVARIANCE, Check, probe_targets
from .report import TASK_TITLES

__all__ = ["probe_target_statements"]

_GROUPINGS = {"source": "source folds", "template": "template folds"}


def probe_target_statements(probes: dict[str, Any], method: str = "encoder",
                            twin: str = "encoder-untrained",
                            opcode: str = "opcode-histogram",
                            twin_label: str = "untrained twin") -> list[str]:
    """One sentence per probe target (``target_checks.probe_targets``): the encoder's score
    against the twin and the opcode histogram (``[]`` when the run has no encoder).
    ``twin_label`` names the twin in the sentence (the report says "seed-0 untrained twin"
    where twins were also drawn at other seeds)."""
    lines = []
    for target in probe_targets(probes, method, twin, opcode):
        if target.kind == INVARIANCE:
            named = {twin: twin_label, opcode: "opcode histogram"}
            parts = [f"{method} {target.checks[0].value:.3f}"] + [
                f"{named[c.reference]} {c.reference_value:.3f} (target >= {c.goal:.3f})"
                for c in target.checks]
            lines.append(f"**{target.where}**: target {verdict(target.met)} — "
                         + "; ".join(parts) + ".")
        else:  # DECISIONS: one target per fold grouping
            grouping = target.source[1]
            tasks = probes["decisions"]["groupings"][grouping]
            parts = [_decision_part(label, [c for c in target.checks if c.label == label], twin)
                     for label in dict.fromkeys(c.label for c in target.checks)]
            lines.append(f"**probes, compiler decisions ({_GROUPINGS.get(grouping, grouping)})**: "
                         f"target {verdict(target.met)} — " + "; ".join(parts) + "."
                         + _other_outputs(tasks, method, twin) + _template_reading(tasks))
    return lines


def _decision_part(label: str, checks: list[Check], twin: str) -> str:
    """``vectorised? 0.919 (twin 0.914, target >= 0.964; opcode 0.851)``."""
    notes = [f"twin {c.reference_value:.3f}, target >= {c.goal:.3f}" if c.reference == twin
             else f"opcode {c.reference_value:.3f}" for c in checks]
    return f"{label} {checks[0].value:.3f} (" + "; ".join(notes) + ")"


def _template_reading(tasks: dict[str, Any], control: str = "template-identity") -> str:
    """`` Naming the template alone (...): vectorised? 0.83, ...``: how much of a grouping's
    accuracy recognising a near-copy gives, with no program content (empty without the row)."""
    pairs = [f"{TASK_TITLES.get(task, task)} {info['methods'][control]['accuracy']:.3f}"
             for task, info in tasks.items() if control in info.get("methods", {})]
    return (" Naming the generator template alone (template-identity, no program content): "
            + ", ".join(pairs) + ".") if pairs else ""


def _other_outputs(tasks: dict[str, Any], method: str, twin: str) -> str:
    """`` The graph output: VF 0.62 (twin's graph 0.41), ...`` for the per-view outputs that
    the targets do not judge (the default is ``fused``), so a reader sees which output
    carries the decision."""
    texts = []
    for view in ("tokens", "graph"):
        pairs = []
        for task, info in tasks.items():
            methods = info.get("methods", {})
            mine, base = methods.get(f"{method}-{view}"), methods.get(f"{twin}-{view}")
            if mine and base:
                pairs.append(f"{TASK_TITLES.get(task, task)} {mine['accuracy']:.3f} "
                             f"(twin {base['accuracy']:.3f})")
        if pairs:
            texts.append(f"{view} output: " + ", ".join(pairs))
    return (" Not judged by the target: " + "; ".join(texts) + ".") if texts else ""
