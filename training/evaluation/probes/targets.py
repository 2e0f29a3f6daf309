"""The issue's probe targets, checked on a probe run's results (plain sentences for RESULTS.md).

- Optimisation-invariance MAP@R (fused): at least 2x the untrained twin's and at least the
  opcode histogram's + 0.10.
- Compiler-decision accuracy (fused, every task and fold grouping): at least the untrained
  twin's + 5 points and above the opcode histogram's.
"""

from __future__ import annotations

from typing import Any

from ..table_cells import verdict
from .report import TASK_TITLES

__all__ = ["probe_target_statements", "MAP_RATIO", "MAP_MARGIN", "DECISION_MARGIN"]

MAP_RATIO = 2.0
MAP_MARGIN = 0.10
DECISION_MARGIN = 0.05
_GROUPINGS = {"source": "source folds", "template": "template folds"}


def probe_target_statements(probes: dict[str, Any], method: str = "encoder",
                            twin: str = "encoder-untrained",
                            opcode: str = "opcode-histogram",
                            twin_label: str = "untrained twin") -> list[str]:
    """One sentence per probe: the encoder's score against the twin and the opcode histogram
    (``[]`` when the run has no encoder). ``twin_label`` names the twin in the sentence (the
    report says "seed-0 untrained twin" where twins were also drawn at other seeds)."""
    lines = []
    retrieval = probes.get("retrieval", {}).get("methods", {})
    if method in retrieval:
        value = retrieval[method]["map_at_r"]
        parts, ok = [f"{method} {value:.3f}"], True
        if twin in retrieval:
            goal = MAP_RATIO * retrieval[twin]["map_at_r"]
            ok &= value >= goal
            parts.append(f"{twin_label} {retrieval[twin]['map_at_r']:.3f} (target >= {goal:.3f})")
        if opcode in retrieval:
            goal = retrieval[opcode]["map_at_r"] + MAP_MARGIN
            ok &= value >= goal
            parts.append(f"opcode histogram {retrieval[opcode]['map_at_r']:.3f} "
                         f"(target >= {goal:.3f})")
        lines.append(f"**probes, optimisation-invariance MAP@R**: target {verdict(ok)} — "
                     + "; ".join(parts) + ".")
    for grouping, tasks in probes.get("decisions", {}).get("groupings", {}).items():
        parts, ok, seen = [], True, False
        for task, info in tasks.items():
            methods = info.get("methods", {})
            if method not in methods:
                continue
            seen = True
            value = methods[method]["accuracy"]
            text = f"{TASK_TITLES.get(task, task)} {value:.3f}"
            if twin in methods:
                goal = methods[twin]["accuracy"] + DECISION_MARGIN
                ok &= value >= goal
                text += f" (twin {methods[twin]['accuracy']:.3f}, target >= {goal:.3f}"
            if opcode in methods:
                ok &= value > methods[opcode]["accuracy"]
                text += f"; opcode {methods[opcode]['accuracy']:.3f}"
            parts.append(text + (")" if twin in methods or opcode in methods else ""))
        if seen:
            lines.append(f"**probes, compiler decisions ({_GROUPINGS.get(grouping, grouping)})**: "
                         f"target {verdict(ok)} — " + "; ".join(parts) + "."
                         + _other_outputs(tasks, method, twin) + _template_reading(tasks))
    return lines


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
