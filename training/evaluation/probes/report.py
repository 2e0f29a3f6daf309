"""The probes' Markdown section: one table per probe, counts, and the held-out statement."""

from __future__ import annotations

from typing import Any

from ..table_cells import number_cell
from .geometry import GEOMETRY_PROTOCOL
from .results import ProbeResults

__all__ = ["probes_markdown", "TASK_TITLES"]

TASK_TITLES = {"vectorized": "vectorised?", "vf": "VF", "ic": "IC"}


def _pairs(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def _retrieval_section(retrieval: dict[str, Any], order: list[str]) -> list[str]:
    counts, methods = retrieval.get("counts", {}), retrieval.get("methods", {})
    corpora = sorted({c for m in methods.values() for c in m.get("by_corpus", {})})
    lines = ["### a. Optimisation-invariance retrieval", "",
             f"Protocol: {retrieval.get('protocol', '')}.", "",
             f"Sources sampled: {_pairs(counts.get('sources_sampled', {}))}; kept: "
             f"{_pairs(counts.get('sources_kept', {}))}. Variants kept: "
             f"{_pairs(counts.get('variants_kept', {}))} (per level: "
             f"{_pairs(counts.get('variants_per_level', {}))}). Dropped: "
             f"{counts.get('identical_variants', 0)} variants with IR identical to another "
             f"level of the same source, {counts.get('single_variant_sources', 0)} sources left "
             f"with one distinct variant, {counts.get('cross_source_duplicates', 0)} sources "
             f"sharing a variant with another source; compile failures: "
             f"{_pairs(counts.get('compile_failures', {}))}.", ""]
    header = ["method", "MAP@R", *[f"MAP@R {c}" for c in corpora], "P@1", "queries"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method in [m for m in order if m in methods]:
        row = methods[method]
        cells = [method, number_cell(row["map_at_r"]),
                 *[number_cell(row["by_corpus"].get(c)) for c in corpora],
                 number_cell(row["precision_at_1"]), str(row["queries"])]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


GROUPING_TITLES = {"source": "folds grouped by source file",
                   "template": "folds grouped by generator template (no near-copy trained on)"}


def _decision_table(tasks: dict[str, Any], order: list[str]) -> list[str]:
    shown = [t for t in tasks if "methods" in tasks[t]]
    header = ["method", *[f"{TASK_TITLES.get(t, t)} {s}" for t in shown
                          for s in ("acc", "macro-F1")]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    rows = [("majority class", {t: tasks[t]["majority"] for t in shown})]
    rows += [(m, {t: tasks[t]["methods"].get(m, {}) for t in shown}) for m in order
             if any(m in tasks[t]["methods"] for t in shown)]
    for name, scores in rows:
        cells = [name]
        for task in shown:
            cells += [_score_cell(scores[task], "accuracy"), _score_cell(scores[task], "macro_f1")]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _score_cell(scores: dict[str, Any], key: str) -> str:
    """``mean ± std`` over repeated fold seeds; the bare value for one split."""
    cell = number_cell(scores.get(key))
    if scores.get("repeats", 1) > 1 and scores.get(f"{key}_std") is not None:
        cell += f" ± {number_cell(scores[f'{key}_std'])}"
    return cell


def _decision_section(decisions: dict[str, Any], order: list[str]) -> list[str]:
    counts, groupings = decisions.get("counts", {}), decisions.get("groupings", {})
    lines = ["### b. Compiler-decision prediction (-O3 loop vectoriser, from -O0 IR)", "",
             f"Protocol: {decisions.get('protocol', '')}.", "",
             f"Candidates compiled for remarks: {_pairs(counts.get('candidates', {}))}; "
             f"labelled programs: {_pairs(counts.get('programs', {}))}; groups: "
             f"{_pairs(counts.get('groups', {}))}."]
    if counts.get("eligible_after_filter"):
        lines[-1] += (" Drawn among the held-out sources a corpus's decision filter accepts: "
                      f"{_pairs(counts['eligible_after_filter'])}.")
    for corpus, outcome in counts.get("outcomes", {}).items():
        lines.append(f"- {corpus}: {_pairs(outcome)}")
    for task, by_corpus in counts.get("labels_by_corpus", {}).items():
        lines.append(f"- {TASK_TITLES.get(task, task)} labels by corpus: " + "; ".join(
            f"{c}: {_pairs(v)}" for c, v in by_corpus.items()))
    for grouping, tasks in groupings.items():
        lines += ["", f"#### {GROUPING_TITLES.get(grouping, grouping)}", ""]
        for task, info in tasks.items():
            dropped = info.get("dropped_classes") or {}
            note = f"; left out (< min count): {_pairs(dropped)}" if dropped else ""
            skipped = f" — skipped: {info['skipped']}" if "skipped" in info else ""
            repeats = (f" x {info['repeats']} fold seeds" if info.get("repeats", 1) > 1
                       else "")
            lines.append(f"- {TASK_TITLES.get(task, task)}: n = {info.get('n', 0)}, "
                         f"{info.get('folds', 0)} folds{repeats}, classes "
                         f"{_pairs(info.get('classes', {}))}{note}{skipped}")
        lines += [""] + _decision_table(tasks, order)
    return lines + [""]


def _geometry_section(methods: dict[str, Any]) -> list[str]:
    rows = [(m, info["geometry"]) for m, info in methods.items() if info.get("geometry")]
    if not rows:
        return []
    lines = ["### c. Embedding geometry (how many directions the vectors use)", "",
             f"Protocol: {GEOMETRY_PROTOCOL}.", "",
             "| method | dim | effective rank | directions for 90 % | directions for 99 % | programs |",
             "|---|---|---|---|---|---|"]
    for method, g in rows:
        lines.append(f"| {method} | {g['dim']} | {number_cell(g['effective_rank'], 1)} | "
                     f"{g['dims_90']} | {g['dims_99']} | {g['n']} |")
    return lines + [""]


def probes_markdown(results: ProbeResults | dict[str, Any]) -> str:
    """A Markdown section (``## Representation probes``) for RESULTS.md."""
    data = results.to_dict() if isinstance(results, ProbeResults) else results
    order = list(data.get("methods", {}))
    held = data.get("held_out", {})
    toolchain = data.get("toolchain", {})
    lines = ["## Representation probes (frozen embeddings)", "",
             held.get("statement", ""), "",
             f"clang {toolchain.get('clang_version', '?')}; eligible sources: "
             f"{_pairs(held.get('eligible', {}))}; timing: "
             f"{number_cell(data.get('timing', {}).get('total_s'), 0)} s for "
             f"{data.get('timing', {}).get('programs', 0)} programs.", ""]
    if data.get("encoder", {}).get("uri"):
        lines += [f"Encoder: `{data['encoder']['uri']}`.", ""]
    lines += ["Methods:"] + [f"- `{m}`: {info.get('description', '')}"
                             + (f" ({info['failed']} programs failed)" if info.get("failed")
                                else "") for m, info in data.get("methods", {}).items()]
    lines += [f"- `{m}`: not run — {reason}" for m, reason in data.get("skipped", {}).items()]
    retrieved = data.get("retrieval", {}).get("methods", {})
    lines += [f"- `{m}`: decision probe only ("
              + ("one column has no cosine to rank by" if info.get("dim") == 1
                 else "it names the retrieval probe's answer") + ")"
              for m, info in data.get("methods", {}).items() if retrieved and m not in retrieved]
    lines += [f"- rows added later on the same programs and settings (checked): "
              f"{', '.join(f'`{m}`' for m in added['methods'])} — `{added['command']}`"
              for added in data.get("added_rows", [])]
    lines.append("")
    lines += _retrieval_section(data.get("retrieval", {}), order)
    lines += _decision_section(data.get("decisions", {}), order)
    lines += _geometry_section(data.get("methods", {}))
    return "\n".join(lines)
