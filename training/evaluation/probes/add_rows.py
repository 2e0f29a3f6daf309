"""Add control rows to a recorded probe report: a new control scored on the same held-out
programs as an encoder probed on another machine."""

from __future__ import annotations

import copy
from typing import Any

from ....infra.errors import ConfigError

__all__ = ["SAME_PROGRAMS_SETTINGS", "add_probe_rows", "check_recorded"]

SAME_PROGRAMS_SETTINGS = ("corpora", "seed", "include_unseen", "retrieval_sources_per_corpus",
                          "opt_levels", "decision_candidates_per_corpus", "exclude_functions",
                          "folds", "fold_repeats", "decision_group_by", "min_class_count",
                          "logreg_c", "logreg_max_iter")
"""Settings that choose the programs, the folds and the probe: equal, or the rows would not
compare."""


def _same_programs_problems(recorded: dict[str, Any], new: dict[str, Any]) -> list[str]:
    problems = [f"setting {key}: {new['config'].get(key)!r} here, "
                f"{recorded['config'].get(key)!r} recorded"
                for key in SAME_PROGRAMS_SETTINGS
                if new["config"].get(key) != recorded["config"].get(key)]
    if new["retrieval"].get("counts") != recorded["retrieval"].get("counts"):
        problems.append("the retrieval probe chose other programs (its counts differ)")
    if new["decisions"].get("counts") != recorded["decisions"].get("counts"):
        problems.append("the decision probe chose other programs (its counts differ)")
    # Methods of both runs (a deterministic control) must score the same on the same programs.
    for method in set(new["methods"]) & set(recorded["methods"]):
        mine = new["retrieval"]["methods"].get(method, {}).get("map_at_r")
        theirs = recorded["retrieval"]["methods"].get(method, {}).get("map_at_r")
        if mine != theirs:
            problems.append(f"{method} scores MAP@R {mine} here, {theirs} recorded")
    return problems


def check_recorded(recorded: dict[str, Any], where: str = "the report") -> None:
    """Raises ConfigError when ``recorded`` (the report's probe section) is empty: there are
    no rows to add to. The command calls it before any work, :func:`add_probe_rows` again."""
    if not recorded:
        raise ConfigError([f"add_rows: {where} holds no probe results to add rows to; run the "
                           "probes once with --report-dir"])


def add_probe_rows(recorded: dict[str, Any], new: dict[str, Any], command: str) -> dict[str, Any]:
    """The recorded probe results with the methods of ``new`` that it does not hold added
    (retrieval, every decision task and grouping, geometry); the recorded rows, encoder and
    held-out statement stay. ``added_rows`` lists each addition with its command.

    Raises:
        ConfigError: nothing is recorded, or ``new`` was run on other programs or settings.
    """
    check_recorded(recorded)
    problems = _same_programs_problems(recorded, new)
    if problems:
        raise ConfigError([f"add_rows: {p}" for p in problems])
    merged = copy.deepcopy(recorded)
    added = [m for m in new["methods"] if m not in recorded["methods"]]
    for method in added:
        merged["methods"][method] = new["methods"][method]
        if method in new["retrieval"]["methods"]:
            merged["retrieval"]["methods"][method] = new["retrieval"]["methods"][method]
        for grouping, tasks in new["decisions"].get("groupings", {}).items():
            for task, scores in tasks.items():
                if method in scores.get("methods", {}):
                    merged["decisions"]["groupings"][grouping][task]["methods"][method] = \
                        scores["methods"][method]
    controls = list(merged["config"].get("controls", []))
    merged["config"]["controls"] = controls + [m for m in added if m not in controls]
    merged.setdefault("added_rows", []).append({"methods": added, "command": command})
    return merged
