"""Renders ``RESULTS.md`` from the summary: tables per task, protocol and platform, beside the
published numbers, with the targets stated plainly; the studies beyond the protocols (every
diagnostic section) go to one page each under ``studies/``, indexed by ``STUDIES.md`` and by
RESULTS.md."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .ablation_table import ablations_markdown
from .basis_table import BASIS_SECTIONS, basis_markdown, basis_statements
from .coarsening_resolution_table import resolution_markdown, resolution_statements
from .codebook_table import codebook_markdown, codebook_statements
from .decision_probe_table import decision_probe_markdown
from .devmap_agreement_table import devmap_agreement_markdown, devmap_agreement_statements
from .devmap_resolution_table import devmap_resolution_markdown, devmap_resolution_statements
from .finetune_table import finetune_keys, finetune_markdown, finetune_sections, finetune_statements
from .label_efficiency_table import (
    DECISIONS,
    decision_efficiency_markdown,
    label_efficiency_markdown,
    label_efficiency_statements,
)
from .learning_curve_table import curve_markdown, curve_statements
from .level_shift_table import (
    LEVEL_SHIFT_KEYS,
    level_shift_markdown,
    level_shift_statements,
)
from .neighbour_study_table import neighbour_study_markdown, neighbour_study_statements
from .output_table import outputs_markdown
from .peer_twins_table import peer_statements, peer_twins_markdown
from .pretraining_effects import effects_markdown
from .probes.report import probes_markdown
from .probes.targets import probe_target_statements
from .program_dims_table import program_dims_markdown, program_dims_statements
from .published import (
    PUBLISHED_COARSENING,
    PUBLISHED_DEVMAP,
    TARGETS,
)
from .record_pooled import pooled_effects, pooled_statements, record_section_markdown
from .record_table import replicate_statements, twin_spread_statements
from .stacked_sweep_table import stacked_sweep_markdown, stacked_sweep_statements
from .study_pages import STUDIES_DIR, STUDIES_FILE, study_page
from .table_cells import BOUNDS, best_other, verdict
from .target_checks import (
    AHEAD,
    LITERATURE,
    PRETRAINING,
    Target,
    downstream_targets,
    is_coarsening,
    speed_targets,
    task_scale,
)
from .target_table import speed_others, target_table_markdown
from .toolchain_retrieval_table import toolchain_markdown, toolchain_statements
from .toolchain_study_table import toolchain_study_markdown

__all__ = ["render_results_md", "render_studies", "study_index", "method_sort_key",
           "target_statements", "control_statements"]

_COARSENING_PLATFORMS = ("cypress", "tahiti", "fermi", "kepler")
_PROTOCOL_TEXT = {
    "literature-rs104": "the literature's folds: `StratifiedKFold(n_splits=10, shuffle=True, "
                        "random_state=104)` as in IR2Vec's published run; rows of one kernel "
                        "(other data sizes) sit in training and test alike",
    "literature-rs204": "the literature's folds with `random_state=204` (DeepTune, NCC)",
    "leakage-free": "folds grouped by kernel (`StratifiedGroupKFold(10, shuffle=True)`, fold "
                    "seed = run seed): no kernel is in training and test",
    "literature": "leave one of the 68 kernel x platform rows out (as IR2Vec published): the "
                  "held-out kernel's rows for the other three platforms stay in training",
}
_TC_LEAKAGE_FREE = ("leave one kernel out on all four platforms (17 folds): the kernel is never "
                    "seen in training")


def method_sort_key(method: str) -> tuple[int, str]:
    """Encoder rows first, then peers, controls, and the static/oracle bounds last."""
    if method.startswith("encoder"):
        rank = 0
    elif method.startswith("ir2vec"):
        rank = 1
    elif method in BOUNDS:
        rank = 3 if method == "static" else 4
    else:
        rank = 2
    return rank, method


def _pm(mean: float | None, std: float | None, digits: int, suffix: str = "") -> str:
    if mean is None:
        return "–"
    text = f"{mean:.{digits}f}{suffix}"
    return text if not std else f"{text} ± {std:.{digits}f}"


def _is_encoder(method: str) -> bool:
    return method.startswith("encoder")


def target_statements(summary: dict[str, Any]) -> list[str]:
    """One plain sentence per task and protocol: whether the targets
    (``target_checks.downstream_targets``) were reached."""
    results = summary.get("results", {})
    lines = []
    for task in sorted(results):
        for protocol, platforms in results[task].items():
            where = f"{task}, {protocol}"
            targets = {t.kind: t for t in downstream_targets(task, protocol, platforms)}
            if not targets:
                lines.append(f"**{where}**: not assessed (no encoder in this run); best "
                             f"computed here: {_best_computed(task, platforms)}.")
            elif LITERATURE in targets:
                target = targets[LITERATURE]
                parts = [f"{c.label} {_value(c.value, target)} vs target "
                         f"{_value(c.goal, target)} ({verdict(c.met)})" for c in target.checks]
                lines.append(f"**{where}**: target {verdict(target.met)} — "
                             + "; ".join(parts) + ".")
            else:
                ahead = targets.get(AHEAD)
                if ahead is None:
                    text = "no baseline or control computed here to compare with."
                else:
                    text = (f"{'ahead of' if ahead.met else 'NOT ahead of'} every baseline and "
                            "control computed here — " + "; ".join(
                                f"{c.label} {_value(c.value, ahead)} vs best baseline "
                                f"{c.reference} {_value(c.goal, ahead)} "
                                f"({c.margin:+.{ahead.digits}f})" for c in ahead.checks) + ".")
                lines.append(f"**{where}**: encoder {text}"
                             + _pretraining_target(targets.get(PRETRAINING)))
    return lines


def speed_statements(speed: dict[str, Any]) -> list[str]:
    """The speed target's sentence (``[]`` without a measurement in the report)."""
    targets = speed_targets(speed)
    if not targets:
        return []
    target, check = targets[0], targets[0].checks[0]
    entry = speed["policies"][check.label]
    return [f"**embedding speed**: target {verdict(target.met)} — window policy "
            f"{entry['policy']} (the embedder's default) {entry['encoder_ms']:.2f} ms/file "
            f"against IR2Vec flow-aware's {entry['ir2vec_fa_ms']:.2f} ({check.value:.2f}x its "
            f"speed), {entry['files']} DevMap IR files, {entry['encoder']}, measured "
            f"{entry['measured_at']} on {entry['machine']}" + speed_others(speed)
            + ". Method: BENCHMARKS.md `embed`; the ms / program of 'Feature sets and timing' "
            "are wall times inside the evaluation run (model load and busy cores included)."]


def _value(value: float, target: Target) -> str:
    return f"{value:.{target.digits}f}{target.unit}"


def _best_computed(task: str, platforms: dict[str, Any]) -> str:
    """``amd: runtime-only 91.0 %; nvidia: ...``: the best rows of a table without an
    encoder."""
    keys, metric, unit, digits = task_scale(task, platforms)
    best = [(best_other(platforms[k], metric), k) for k in keys if k in platforms]
    return "; ".join(f"{k}: {b[0]} {b[1]:.{digits}f}{unit}" for b, k in best if b)


def _pretraining_target(target: Target | None) -> str:
    """The pre-training target of a leakage-free protocol: DevMap, the untrained twin + 2
    points on every platform; thread coarsening, an average speedup of at least 1.10x."""
    if target is None:
        return ""
    goal = TARGETS["pretraining"]
    if is_coarsening(target.source):
        return (f" Pre-training target (>= {goal['coarsening_leakage_free']:.2f}x): "
                f"{verdict(target.met)} ({target.checks[0].value:.3f}x).")
    parts = [f"{c.label} {c.margin:+.1f}" for c in target.checks]
    return (f" Pre-training target (untrained twin + {goal['devmap_twin_margin']:.0f} points): "
            f"{verdict(target.met)} ({', '.join(parts)} against the twin).")


def control_statements(summary: dict[str, Any]) -> list[str]:
    """What the controls show, per task and protocol: the share of the score that the run-time
    inputs alone explain, and what the best program representation adds on top."""
    lines = []
    for task, protocols in sorted(summary.get("results", {}).items()):
        is_tc = task == "thread-coarsening"
        metric, unit, digits = ("speedup_mean", "x", 3) if is_tc else ("accuracy_mean", " %", 1)
        for protocol, platforms in protocols.items():
            keys = ["average"] if is_tc else [p for p in ("amd", "nvidia") if p in platforms]
            if not all("runtime-only" in platforms[k] for k in keys):
                continue
            parts = []
            for k in keys:
                base = platforms[k]["runtime-only"][metric]
                others = [(m, v[metric]) for m, v in platforms[k].items()
                          if m not in (*BOUNDS, "runtime-only", "kernel-identity")]
                text = f"{k}: runtime-only {base:.{digits}f}{unit}"
                if others:
                    best = max(others, key=lambda x: x[1])
                    text += (f", best program representation {best[0]} {best[1]:.{digits}f}"
                             f"{unit} ({best[1] - base:+.{digits}f})")
                if "kernel-identity" in platforms[k]:
                    ident = platforms[k]["kernel-identity"][metric]
                    text += f", kernel identity {ident:.{digits}f}{unit} ({ident - base:+.{digits}f})"
                parts.append(text)
            inputs = "platform one-hot" if is_tc else "transfer + wgsize"
            lines.append(f"**{task}, {protocol}** (runtime-only = {inputs}, no program "
                         "features): " + "; ".join(parts) + ".")
    return lines


def _devmap_table(platforms: dict[str, dict[str, Any]], protocol: str) -> list[str]:
    names = [p for p in ("amd", "nvidia") if p in platforms]
    header = "| Method | " + " | ".join(
        f"{p.upper()} accuracy % | {p.upper()} speedup (mean) | {p.upper()} speedup (geo.)"
        for p in names) + " |"
    lines = [header, "|" + " --- |" * (1 + 3 * len(names))]
    methods = sorted({m for p in names for m in platforms[p]}, key=method_sort_key)
    for method in methods:
        cells = []
        for p in names:
            v = platforms[p].get(method)
            if v is None:
                cells += ["–"] * 3
                continue
            cells += [_pm(v["accuracy_mean"], v["accuracy_std"], 1),
                      _pm(v["speedup_mean"], v["speedup_std"], 2, "x"),
                      _pm(v["geomean_mean"], v["geomean_std"], 2, "x")]
        label = f"**{method}**" if _is_encoder(method) else method
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if protocol.startswith("literature"):
        for name, entry in PUBLISHED_DEVMAP.items():
            cells = []
            for p in names:
                acc, speed = entry[p]
                cells += [f"{acc:.1f}", "–" if speed is None else f"{speed:.2f}x", "–"]
            lines.append(f"| _{name} (published)_ | " + " | ".join(cells) + " |")
    return lines


def _coarsening_table(platforms: dict[str, dict[str, Any]], protocol: str) -> list[str]:
    lines = ["| Method | Cypress | Tahiti | Fermi | Kepler | **Average** | geo. mean | "
             "factor accuracy % |", "|" + " --- |" * 8]
    methods = sorted(platforms.get("average", {}), key=method_sort_key)
    for method in methods:
        per = [_pm(platforms[p][method]["speedup_mean"], platforms[p][method]["speedup_std"], 3,
                   "x") for p in _COARSENING_PLATFORMS]
        avg = platforms["average"][method]
        label = f"**{method}**" if _is_encoder(method) else method
        lines.append(f"| {label} | " + " | ".join(per) + f" | {_pm(avg['speedup_mean'], avg['speedup_std'], 3, 'x')} | "
                     f"{_pm(avg['geomean_mean'], avg['geomean_std'], 3, 'x')} | "
                     f"{_pm(avg['accuracy_mean'], avg['accuracy_std'], 1)} |")
    if protocol == "literature":
        for name, entry in PUBLISHED_COARSENING.items():
            per = " | ".join(f"{v:.3f}x" for v in entry["platforms"])
            lines.append(f"| _{name} (published)_ | {per} | {entry['average']:.3f}x | – | – |")
    return lines


def _coverage_lines(task: str, meta: dict[str, Any]) -> list[str]:
    cov = meta.get("coverage", {})
    lines = []
    if task.startswith("devmap"):
        lines.append(f"- **{task}**: {cov.get('rows_used')} of {cov.get('rows_total')} rows used, "
                     f"{cov.get('kernels_used')} of {cov.get('kernels_total')} kernels; source: "
                     f"{cov.get('source', '?')}.")
        excluded = cov.get("excluded_rows") or {}
        if excluded:
            lines.append("  Excluded rows (from every method alike, so all rows below compare on "
                         "the same rows): " + ", ".join(f"{k}: {v}" for k, v in
                                                         sorted(excluded.items())) + ".")
        if "kernels_compiled" in cov:
            lines.append(f"  Compile coverage: {cov['kernels_compiled']} of "
                         f"{cov['kernels_total']} OpenCL kernels compiled "
                         f"({cov['kernels_failed']} failed: the published sources lack helper "
                         "definitions they call).")
    else:
        lines.append(f"- **{task}**: {cov.get('rows')} kernel x platform rows, "
                     f"{cov.get('kernels')} kernels. {cov.get('note', '')}".rstrip())
        if cov.get("excluded_kernels"):
            lines.append(f"  Excluded kernels (a feature set failed): {cov['excluded_kernels']}.")
    for repair in meta.get("repairs", []):
        lines.append(f"  Repair: {repair}.")
    for name, info in meta.get("featurizers", {}).items():
        if info.get("failures"):
            lines.append(f"  {name} failed on {len(info['failures'])} program(s): " + ", ".join(
                sorted(info["failures"])[:5]) + ("…" if len(info["failures"]) > 5 else ""))
    return lines


_SCORE_TAGS = ("eval.", "metric.")  # registry tags that hold evaluation scores


def _encoder_speedup(results: dict[str, Any]) -> float | None:
    """The encoder's thread-coarsening leakage-free mean speedup, where recorded."""
    cell = (results.get("thread-coarsening", {}).get("leakage-free", {}).get("average", {})
            .get("encoder"))
    return cell["speedup_mean"] if cell else None


def render_results_md(summary: dict[str, Any], figures: dict[str, str] | None = None,
                      studies: dict[str, str] | None = None) -> str:
    """The whole ``RESULTS.md`` text; ``figures`` maps ``results``, ``targets``, ``effects`` and
    ``probes`` to the figures it shows, as paths relative to RESULTS.md (a figure not named: not
    shown); ``studies``: the studies files it indexes (:func:`render_studies`), when the caller
    has rendered them (default: rendered here)."""
    figures = figures or {}
    results, tasks = summary.get("results", {}), summary.get("tasks", {})
    out = ["# Downstream evaluation results", "",
           f"_Generated by `mirencoder eval` on {summary.get('generated_at', '?')} — do not edit "
           "by hand; rerun the commands below. Machine-readable: `results/summary.json`._", ""]
    encoder = summary.get("encoder")
    out += ["## Encoder", ""]
    if encoder:
        out.append(f"- Model: `{encoder.get('uri')}`" + (
            f", version {encoder['version']}" if encoder.get("version") else ""))
        for key, value in encoder.items():
            if key in {"uri", "version"} or value in (None, "", {}, []):
                continue
            if isinstance(value, dict):
                out.append(f"- {key}:")
                # the registry's evaluation tags repeat the tables below
                scores = [sub for sub in value if sub.startswith(_SCORE_TAGS)]
                for sub, item in value.items():
                    if sub in scores:
                        continue
                    shown = (f"({len(item)} entries; see results/summary.json)"
                             if isinstance(item, dict | list) else f"`{str(item)[:120]}`")
                    out.append(f"  - {sub}: {shown}")
                if scores:
                    out.append(f"  - ({len(scores)} evaluation score tags: the tables below; "
                               "all in results/summary.json)")
            else:
                out.append(f"- {key}: `{str(value)[:200]}`")
    else:
        out.append("No encoder was given (`--model`): the tables hold the baselines and "
                   "controls computed here, beside the published numbers. Rerun with "
                   "`--model models:/mirencoder@champion` (or a package folder) to add the "
                   "encoder rows (fused, token-only, graph-only) and `--untrained-model` for the "
                   "untrained ablation.")
    out += ["", "## Targets", ""] + target_table_markdown(summary)
    if figures.get("targets"):
        out += [f"![targets]({figures['targets']})", ""]
    spread = twin_spread_statements(summary.get("runs_of_record", {}), (
        summary.get("encoder") or {}).get("lineage", {}).get("config_name"))
    statements = target_statements(summary) + probe_target_statements(
        summary.get("probes", {}), twin_label="seed-0 untrained twin" if spread
        else "untrained twin") + spread
    statements += speed_statements(summary.get("embedding_speed", {}))
    statements += replicate_statements(summary.get("runs_of_record", {}))
    statements += pooled_statements(pooled_effects(summary.get("runs_of_record", {})))
    statements += curve_statements(summary.get("learning_curve", {}))
    statements += program_dims_statements(summary.get("program_dims", {}))
    statements += neighbour_study_statements(summary.get("neighbour_labels", {}))
    statements += devmap_agreement_statements(summary.get("devmap_agreement", {}))
    statements += devmap_resolution_statements(summary.get("devmap_resolution", {}))
    statements += resolution_statements(summary.get("coarsening_resolution", {}),
                                        _encoder_speedup(results))
    statements += peer_statements(summary.get("peer_twins", {}))
    statements += [line for key in BASIS_SECTIONS.values()
                   for line in basis_statements(summary.get(key, {}))]
    statements += codebook_statements(summary.get("node_codes", {}))
    statements += [line for section in finetune_sections(summary)
                   for line in finetune_statements(section)]
    statements += stacked_sweep_statements(summary.get("stacked_sweep", {}))
    statements += label_efficiency_statements(summary.get("label_efficiency", {}))
    statements += label_efficiency_statements(summary.get("label_efficiency_decisions", {}),
                                              DECISIONS)
    statements += toolchain_statements(summary.get("toolchain_retrieval", {}))
    statements += [line for key in LEVEL_SHIFT_KEYS
                   for line in level_shift_statements(summary.get(key, {}))]
    out += [f"- {line}" for line in statements] or ["- (no results yet)"]
    out += ["", "Targets: " + TARGETS["devmap"]["text"] + "; thread coarsening "
            + TARGETS["thread-coarsening"]["text"] + "; leakage-free protocols: "
            + TARGETS["leakage-free"] + "; " + TARGETS["pretraining"]["text"]
            + "; probes: see the probes section; speed: the embedder's default window policy "
            "faster per file than IR2Vec flow-aware (BENCHMARKS.md embed). The oracle rows are "
            "the ceilings."]
    effects = effects_markdown(summary)
    if effects:
        out += ["", *effects]
        if figures.get("effects"):
            out += ["", f"![where pre-training helps]({figures['effects']})"]
    controls = control_statements(summary)
    if controls:
        out += ["", "## What the controls show", "",
                "How much of each score needs no program representation at all (the run-time "
                "inputs alone), and how much memorising the kernel's identity adds under each "
                "protocol; differences in brackets are against runtime-only.", ""]
        out += [f"- {line}" for line in controls]
    out += ["", "## Data and coverage", ""]
    for task in sorted(tasks):
        out += _coverage_lines(task, tasks[task])
    devmap_tasks = [t for t in sorted(results) if t.startswith("devmap")]
    if devmap_tasks:
        out += ["", "## Heterogeneous device mapping (Cummins et al., CGO'17)", "",
                "Predict CPU or GPU per (kernel, data size) row from the program's features plus "
                "the run-time inputs `transfer` and `wgsize`. Accuracy is pooled over rows; "
                "speedup = runtime(static device) / runtime(predicted device), arithmetic mean "
                "over rows as published (geometric mean beside it); static device = CPU on AMD, "
                "GPU on NVIDIA. Head: XGBoost with the published settings (depth 10, learning "
                "rate 0.5, 70 trees) unless a `+mlp` suffix says otherwise. Values are mean ± "
                "sample std over seeds (no ± when every seed gave the same value: XGBoost at "
                "these settings is deterministic given the folds). Published rows used 680 rows "
                "(IR2Vec: 669) and one split."]
        for task in devmap_tasks:
            for protocol, platforms in results[task].items():
                out += ["", f"### {task} — {protocol}", "",
                        f"Protocol: {_PROTOCOL_TEXT.get(protocol, protocol)}.", ""]
                out += _devmap_table(platforms, protocol)
    if "thread-coarsening" in results:
        out += ["", "## Thread coarsening (Magni et al., PACT'14)", "",
                "Predict the coarsening factor (1–32) per kernel and GPU from the program's "
                "features plus a platform one-hot (as in IR2Vec's notebook). Head: XGBoost "
                "(depth 1, learning rate 0.05, 140 trees); predictions capped at the largest "
                "factor measured for the kernel on that platform. Speedup over factor 1, "
                "arithmetic mean per platform, then averaged over the four."]
        for protocol, platforms in results["thread-coarsening"].items():
            text = _PROTOCOL_TEXT["literature"] if protocol == "literature" else _TC_LEAKAGE_FREE
            out += ["", f"### thread-coarsening — {protocol}", "", f"Protocol: {text}.", ""]
            out += _coarsening_table(platforms, protocol)
    if summary.get("runs_of_record"):
        out += ["", record_section_markdown(summary["runs_of_record"]).rstrip()]
    headings = study_index(render_studies(summary) if studies is None else studies)
    if headings:
        out += ["", "## Studies", "",
                f"Diagnostics and studies beyond the protocols, each beside untrained twins and "
                f"the controls, are indexed in [{STUDIES_FILE}]({STUDIES_FILE}), one page per "
                f"section under `{STUDIES_DIR}/` (one line each in the Targets list above):", ""]
        out += [f"- [{title}]({page})" for title, page in headings]
    if summary.get("probes"):
        out += ["", probes_markdown(summary["probes"]).rstrip()]
        if figures.get("probes"):
            out += ["", f"![probes: retrieval and decisions]({figures['probes']})"]
    if summary.get("ablations"):
        out += ["", ablations_markdown(summary["ablations"]).rstrip()]
    out += ["", "## Feature sets and timing", "",
            "ms / program: wall time of computing each feature set inside the evaluation run "
            "(model load, start-up and cores shared with other work included); the controlled "
            "speed comparison with IR2Vec is BENCHMARKS.md `embed`.", "",
            "| Task | Feature set | Dimensions | ms / program | Description |",
            "| --- | --- | --- | --- | --- |"]
    for task in sorted(tasks):
        for name, info in tasks[task].get("featurizers", {}).items():
            out.append(f"| {task} | {name} | {info['dimensions']} | {info['ms_per_program']:.1f} "
                       f"| {info['description']} |")
    out += ["", "| Task | Seeds | Heads | Load s | Featurize s | Cross-validation s | Total s | "
            "Command |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for task in sorted(tasks):
        meta, timing = tasks[task], tasks[task].get("timing_s", {})
        out.append(f"| {task} | {meta.get('seeds')} | {', '.join(meta.get('heads', []))} | "
                   f"{timing.get('load', '–')} | {timing.get('featurize', '–')} | "
                   f"{timing.get('cross_validation', '–')} | {timing.get('total', '–')} | "
                   f"`{meta.get('command', '')}` |")
        for added in meta.get("added_rows", []):
            out.append(f"| {task}: rows added ({', '.join(added['methods'])}) | | | | | | | "
                       f"`{added['command']}` |")
    out += ["", "## Sources of the published numbers", ""]
    for name, entry in PUBLISHED_DEVMAP.items():
        out.append(f"- Device mapping, {name}: {entry['source']}.")
    for name, entry in PUBLISHED_COARSENING.items():
        out.append(f"- Thread coarsening, {name}: {entry['source']}.")
    if figures.get("results"):
        out += ["", "## Chart", "", f"![results]({figures['results']})"]
    return "\n".join(out) + "\n"


def _study_parts(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """``(summary key, markdown)`` of every study section the summary holds, in the report's
    order."""
    renderers: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("which_output", outputs_markdown), ("learning_curve", curve_markdown),
        ("program_dims", program_dims_markdown),
        ("neighbour_labels", neighbour_study_markdown),
        ("devmap_agreement", devmap_agreement_markdown),
        ("devmap_resolution", devmap_resolution_markdown),
        ("coarsening_resolution", resolution_markdown),
        ("peer_twins", peer_twins_markdown),
        *((key, basis_markdown) for key in BASIS_SECTIONS.values()),
        ("node_codes", codebook_markdown),
        *((key, finetune_markdown) for key in finetune_keys(summary)),
        ("stacked_sweep", stacked_sweep_markdown),
        ("label_efficiency", label_efficiency_markdown),
        ("label_efficiency_decisions", decision_efficiency_markdown),
        ("toolchain_retrieval", toolchain_markdown),
        *((key, level_shift_markdown) for key in LEVEL_SHIFT_KEYS),
        ("toolchain_variants", toolchain_study_markdown),
        ("decision_probe_arms", decision_probe_markdown)]
    return [(key, render(summary[key]).rstrip()) for key, render in renderers
            if summary.get(key)]


MIN_LISTED_SUBSECTIONS = 3  # a section with this many ### studies lists them in the contents


def github_anchor(title: str, seen: dict[str, int]) -> str:
    """The anchor GitHub gives a heading (lower case, punctuation dropped, spaces to hyphens;
    a repeated one gets ``-1``, ``-2``...); ``seen`` counts the anchors so far."""
    anchor = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
    count = seen.get(anchor, 0)
    seen[anchor] = count + 1
    return f"{anchor}-{count}" if count else anchor


def heading_tree(studies: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """``(title, anchor, subsections)`` of each ``##`` section of a studies text (a page), in
    order; ``subsections`` the ``(title, anchor)`` of its ``###`` headings (anchors counted
    over every heading of the text, as GitHub does)."""
    seen: dict[str, int] = {}
    out: list[tuple[str, str, list[tuple[str, str]]]] = []
    for line in studies.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip()
            anchor = github_anchor(title, seen)
            if line.startswith("## "):
                out.append((title, anchor, []))
            elif line.startswith("### ") and out:
                out[-1][2].append((title, anchor))
    return out


def render_studies(summary: dict[str, Any]) -> dict[str, str]:
    """Every studies file, path relative to RESULTS.md -> text: ``STUDIES.md`` (the index,
    first) and one page per section under ``studies/``; {} when the summary holds no study."""
    parts = _study_parts(summary)
    if not parts:
        return {}
    stamp = (f"generated with RESULTS.md from `results/summary.json` on "
             f"{summary.get('generated_at', '?')} — do not edit by hand")
    contents, pages = [], {}
    for key, markdown in parts:
        page = study_page(key)
        for title, _anchor, subsections in heading_tree(markdown):
            contents.append(f"- [{title}]({page})")
            if len(subsections) >= MIN_LISTED_SUBSECTIONS:  # a long section: its studies too
                contents += [f"  - [{sub}]({page}#{sub_anchor})"
                             for sub, sub_anchor in subsections]
        # a page sits one folder down: its figure and RESULTS.md links climb out of it
        body = (markdown.replace("](results/", "](../results/")
                .replace("](RESULTS.md", "](../RESULTS.md"))
        pages[page] = "\n".join([f"_One of the [studies beyond the protocols](../{STUDIES_FILE}), "
                                 f"{stamp}. The protocols, the targets and the runs of record "
                                 "are in [RESULTS.md](../RESULTS.md)._", "", body]) + "\n"
    index = ["# Studies beyond the protocols", "",
             f"_One page per study section under `{STUDIES_DIR}/`, {stamp}. The protocols, the "
             "targets and the runs of record are in [RESULTS.md](RESULTS.md)._", "",
             "Contents:", "", *contents]
    return {STUDIES_FILE: "\n".join(index) + "\n", **pages}


def study_index(studies: dict[str, str]) -> list[tuple[str, str]]:
    """``(title, page)`` of each study section of :func:`render_studies`' files, in order."""
    return [(title, path) for path, text in studies.items() if path != STUDIES_FILE
            for title, _, _ in heading_tree(text)]
