"""The report's targets, judged once.

Each target of the encoder (issue "Pre-training that transfers", and the literature goals in
:data:`published.TARGETS`) becomes a :class:`Target`: a list of :class:`Check` s, each one
score of the encoder against the goal it must reach and the reference that goal comes from.
The Targets table (``target_table``), the sentences under it (``report_markdown`` and
``probes.targets``) and the targets chart all render these; none judges a target itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .probes.report import TASK_TITLES
from .published import TARGETS
from .table_cells import best_other

__all__ = ["Check", "Target", "MAP_RATIO", "MAP_MARGIN", "DECISION_MARGIN", "PLATFORMS",
           "judge", "task_scale", "is_coarsening", "downstream_targets", "probe_targets", "speed_targets"]

MAP_RATIO = 2.0
"""Optimisation-invariance MAP@R: at least this many times the untrained twin's ..."""
MAP_MARGIN = 0.10
"""... and at least the opcode histogram's plus this."""
DECISION_MARGIN = 0.05
"""Compiler-decision accuracy: at least the untrained twin's plus this (and above the opcode
histogram's)."""
PLATFORMS = ("amd", "nvidia")
COARSENING = "thread-coarsening"

LITERATURE, AHEAD, PRETRAINING = "literature", "ahead", "pretraining"
INVARIANCE, DECISIONS, SPEED = "invariance", "decisions", "speed"


@dataclass(frozen=True)
class Check:
    """One score of the encoder against its goal: ``value >= goal``, or ``value > goal`` when
    ``strict`` (ahead of a baseline). ``reference`` names where the goal comes from (a method
    of the table, or ``published`` / ``fixed``) and ``reference_value`` is that method's own
    score."""

    label: str
    value: float
    goal: float
    strict: bool = False
    reference: str = "fixed"
    reference_value: float | None = None

    @property
    def met(self) -> bool:
        return self.value > self.goal if self.strict else self.value >= self.goal

    @property
    def margin(self) -> float:
        """How far the encoder is from its reference (against the goal for fixed goals)."""
        return self.value - (self.goal if self.reference_value is None
                             else self.reference_value)


@dataclass(frozen=True)
class Target:
    """One target: ``where`` (``devmap-669, leakage-free``), its ``kind`` (literature, ahead,
    pretraining, invariance, decisions) and the checks that must all be met. ``source`` says
    where the summary holds its cells: ``(task, protocol)``, ``("retrieval",)`` or
    ``("decisions", grouping)``."""

    where: str
    kind: str
    checks: tuple[Check, ...]
    source: tuple[str, ...]
    unit: str = ""
    digits: int = 3

    @property
    def met(self) -> bool:
        return all(check.met for check in self.checks)

    def by_reference(self, reference: str) -> list[Check]:
        return [check for check in self.checks if check.reference == reference]


def _leakage_free(task: str, protocol: str, platforms: dict[str, Any]) -> list[Target]:
    """A leakage-free protocol's targets: ahead of every baseline, then pre-training (the
    untrained twin + 2 points on every DevMap platform, 1.10x for thread coarsening)."""
    keys, metric, unit, digits = task_scale(task, platforms)
    where, source = f"{task}, {protocol}", (task, protocol)
    ahead = []
    for key in keys:
        best = best_other(platforms[key], metric)
        if best is not None:
            ahead.append(Check(key, platforms[key]["encoder"][metric], best[1], strict=True,
                               reference=best[0], reference_value=best[1]))
    targets = [Target(where, AHEAD, tuple(ahead), source, unit, digits)] if ahead else []
    goal = TARGETS["pretraining"]
    if is_coarsening(source):
        value = platforms["average"]["encoder"][metric]
        return targets + [Target(where, PRETRAINING, (
            Check("average", value, goal["coarsening_leakage_free"]),), source, unit, digits)]
    twins = [platforms[k].get("encoder-untrained") for k in keys]
    if None in twins:
        return targets
    checks = tuple(Check(k, platforms[k]["encoder"][metric],
                         twin[metric] + goal["devmap_twin_margin"], reference="encoder-untrained",
                         reference_value=twin[metric]) for k, twin in zip(keys, twins, strict=True))
    return targets + [Target(where, PRETRAINING, checks, source, unit, digits)]


def is_coarsening(source: tuple[str, ...]) -> bool:
    """Whether a target's ``source`` is the thread-coarsening task."""
    return source[0] == COARSENING


def task_scale(task: str, platforms: dict[str, Any]) -> tuple[list[str], str, str, int]:
    """``(keys, metric, unit, digits)`` of a downstream task's table: the columns judged
    (``average`` for thread coarsening, else the platforms present), the metric and how it
    is written."""
    if task == COARSENING:
        return ["average"], "speedup_mean", "x", 3
    return [p for p in PLATFORMS if p in platforms], "accuracy_mean", " %", 1


def downstream_targets(task: str, protocol: str, platforms: dict[str, Any]) -> list[Target]:
    """The targets of one task and protocol (``[]`` when the table has no encoder row):
    literature protocols against the published goals; leakage-free ones ahead of every
    baseline and, for pre-training, against the untrained twin (DevMap) or 1.10x."""
    keys, metric, unit, digits = task_scale(task, platforms)
    if not keys or not all("encoder" in platforms[k] for k in keys):
        return []
    if not protocol.startswith("literature"):
        return _leakage_free(task, protocol, platforms)
    goal = TARGETS[COARSENING if task == COARSENING else "devmap"]
    checks = tuple(Check(k, platforms[k]["encoder"][metric], goal[k], reference="published")
                   for k in keys)
    return [Target(f"{task}, {protocol}", LITERATURE, checks, (task, protocol), unit, digits)]


def probe_targets(probes: dict[str, Any], method: str = "encoder",
                  twin: str = "encoder-untrained", opcode: str = "opcode-histogram"
                  ) -> list[Target]:
    """The probe targets of ``method``: invariance MAP@R (2x the twin, opcode histogram +
    0.10) and, per fold grouping, compiler-decision accuracy on every task (twin + 5 points,
    above the opcode histogram). A check is left out when its reference row is, a target
    when all of its checks are."""
    targets = []
    retrieval = probes.get("retrieval", {}).get("methods", {})
    if method in retrieval:
        value = retrieval[method]["map_at_r"]
        checks = []
        if twin in retrieval:
            base = retrieval[twin]["map_at_r"]
            checks.append(Check("MAP@R", value, MAP_RATIO * base, reference=twin,
                                reference_value=base))
        if opcode in retrieval:
            base = retrieval[opcode]["map_at_r"]
            checks.append(Check("MAP@R", value, base + MAP_MARGIN, reference=opcode,
                                reference_value=base))
        if checks:
            targets.append(Target("probes, optimisation-invariance MAP@R", INVARIANCE,
                                  tuple(checks), ("retrieval",)))
    for grouping, tasks in probes.get("decisions", {}).get("groupings", {}).items():
        checks = []
        for task, info in tasks.items():
            methods = info.get("methods", {})
            if method not in methods:
                continue
            title, value = TASK_TITLES.get(task, task), methods[method]["accuracy"]
            if twin in methods:
                base = methods[twin]["accuracy"]
                checks.append(Check(title, value, base + DECISION_MARGIN, reference=twin,
                                    reference_value=base))
            if opcode in methods:
                base = methods[opcode]["accuracy"]
                checks.append(Check(title, value, base, strict=True, reference=opcode,
                                    reference_value=base))
        if checks:
            targets.append(Target(f"probes, compiler decisions ({grouping} folds)", DECISIONS,
                                  tuple(checks), ("decisions", grouping)))
    return targets


def speed_targets(speed: dict[str, Any]) -> list[Target]:
    """The speed target (``embedding_speed``, written by ``benchmarks/bench_embed.py
    --report-dir``): with the embedder's default window policy, faster per file than IR2Vec
    flow-aware; the check's value is IR2Vec's ms/file over the encoder's (above 1: faster).
    Other policies measured are shown beside it, not judged."""
    default = [e for e in speed.get("policies", {}).values() if e.get("default")]
    if not default:
        return []
    entry = default[0]
    ratio = entry["ir2vec_fa_ms"] / entry["encoder_ms"]
    return [Target("embedding speed", SPEED, (
        Check(entry["policy"], ratio, 1.0, strict=True, reference="ir2vec-fa"),),
        ("embedding_speed",), "x", 2)]


def judge(summary: dict[str, Any]) -> list[Target]:
    """Every target of the report's encoder, in the report's order: DevMap tasks, thread
    coarsening, the probes, then embedding speed."""
    results = summary.get("results", {})
    targets = []
    for task in sorted(results):
        for protocol, platforms in results[task].items():
            targets += downstream_targets(task, protocol, platforms)
    return (targets + probe_targets(summary.get("probes", {}))
            + speed_targets(summary.get("embedding_speed", {})))
