"""The runs-of-record table (pure functions): full-length pre-training runs side by side, each
beside its own untrained twin, on the probes' headline scores and every leakage-free
downstream protocol. Reads the folders ``infra/evaluate_run.sh`` writes
(``<folder>/probes/probes.json``, ``<folder>/devmap/results/summary.json``,
``<folder>/thread-coarsening/results/summary.json``); ``record_runs.py`` merges the table
into the report.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, NamedTuple

from .ablation_table import load_json, probe_scores
from .table_cells import number_cell, verdict

__all__ = ["collect_run", "runs_markdown", "twin_spread_statements", "replicate_statements",
           "COLUMNS", "evaluations", "method_scores", "run_twins", "spread", "spread_cell",
           "Spread"]

COLUMNS = (("map_fused", "invariance MAP@R", 3),
           ("vectorized_source", "vectorised? acc (source folds)", 3),
           ("vectorized_template", "vectorised? acc (template folds)", 3),
           ("devmap-669_amd", "DevMap 669 LF AMD %", 1),
           ("devmap-669_nvidia", "DevMap 669 LF NVIDIA %", 1),
           ("devmap-680_amd", "DevMap 680 LF AMD %", 1),
           ("devmap-680_nvidia", "DevMap 680 LF NVIDIA %", 1),
           ("coarsening", "thread coarsening LF", 3))
METHODS = (("encoder", "pre-trained"), ("encoder-untrained", "untrained twin"))


def run_twins(run: dict[str, Any]) -> list[dict[str, Any]]:
    """A run's untrained twins' scores: the seed-0 twin, then those drawn at other seeds."""
    return [run["methods"][METHODS[1][1]], *run.get("twin_seeds", {}).values()]


def method_scores(probes: dict[str, Any], devmap: dict[str, Any], coarsening: dict[str, Any],
            method: str) -> dict[str, float | None]:
    scores = probe_scores(probes, method)
    for rows in ("devmap-669", "devmap-680"):
        platforms = devmap.get("results", {}).get(rows, {}).get("leakage-free", {})
        for platform in ("amd", "nvidia"):
            scores[f"{rows}_{platform}"] = platforms.get(platform, {}).get(method, {}).get(
                "accuracy_mean")
    average = coarsening.get("results", {}).get("thread-coarsening", {}).get(
        "leakage-free", {}).get("average", {})
    scores["coarsening"] = average.get(method, {}).get("speedup_mean")
    return scores


def evaluations(folder: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    return (load_json(folder / "probes" / "probes.json") or {},
            load_json(folder / "devmap" / "results" / "summary.json") or {},
            load_json(folder / "thread-coarsening" / "results" / "summary.json") or {})


def collect_run(folder: Path) -> dict[str, Any]:
    """One run's description (config name, dataset, steps), the scores of the encoder and of
    its untrained twin, and those of the twins drawn at other seeds (``twin_seeds``, from
    ``<folder>/twin-seed<N>/``, where the twin was scored as the model); missing parts give
    ``None`` scores."""
    probes, devmap, coarsening = evaluations(folder)
    encoder = devmap.get("encoder") or probes.get("encoder") or {}
    lineage = encoder.get("lineage", {})
    twin_seeds = {}
    for seed_folder in sorted(folder.glob("twin-seed*")):
        seed = seed_folder.name.removeprefix("twin-seed")
        twin_seeds[seed] = method_scores(*evaluations(seed_folder), "encoder")
    registered = (load_json(folder / "result.json") or {}).get("registered_version")
    return {"folder": str(folder), "name": lineage.get("config_name") or folder.name,
            "version": encoder.get("version") or registered,
            "dataset": lineage.get("dataset_name"), "steps": lineage.get("steps"),
            "methods": {label: method_scores(probes, devmap, coarsening, method)
                        for method, label in METHODS},
            "twin_seeds": twin_seeds}


def merge_runs(recorded: list[dict[str, Any]], scored: list[dict[str, Any]]
               ) -> list[dict[str, Any]]:
    """The recorded runs in their order, each replaced by a newly scored run of the same name,
    then the scored runs the record did not hold."""
    fresh = {run["name"]: run for run in scored}
    merged = [fresh.pop(run["name"], run) for run in recorded]
    return merged + [run for run in scored if run["name"] in fresh]


class Spread(NamedTuple):
    """Mean, sample std, count and range of the scores present."""

    mean: float
    std: float
    n: int
    low: float
    high: float


def spread(values: list[float | None]) -> Spread | None:
    """The spread of the present values; None with fewer than two."""
    present = [v for v in values if v is not None]
    if len(present) < 2:
        return None
    return Spread(statistics.mean(present), statistics.stdev(present), len(present),
                  min(present), max(present))


def spread_cell(values: list[float | None], digits: int) -> str:
    found = spread(values)
    if found is None:
        present = [v for v in values if v is not None]
        return number_cell(present[0] if present else None, digits)
    return (f"{found.mean:.{digits}f} ± {found.std:.{digits}f} "
            f"({found.low:.{digits}f}–{found.high:.{digits}f})")


def _counted_cell(values: list[float | None], digits: int) -> str:
    """:func:`spread_cell`, with ``[k of n]`` where only k of the n rows have the score."""
    present = sum(v is not None for v in values)
    cell = spread_cell(values, digits)
    return cell if present in (0, len(values)) else f"{cell} [{present} of {len(values)}]"


def runs_markdown(runs: dict[str, Any]) -> str:
    """The ``## Runs of record`` section of RESULTS.md."""
    lines = ["## Runs of record (each beside its untrained twin)", "",
             "Every full-length pre-training run scored by `infra/evaluate_run.sh`: the "
             "pre-trained encoder (fused embedding, first token window) and its untrained twin "
             "(same architecture and vocabularies, random weights) on the probes and on every "
             "leakage-free downstream protocol (DevMap: XGBoost, 3 fold/head seeds; thread "
             "coarsening: mean speedup). The twins differ between runs whose datasets trained "
             "different vocabularies. Where twins were drawn at other seeds (`TWIN_SEEDS`), a "
             "row gives their mean, sample std and range: a difference between an encoder and "
             "its twin means little unless it exceeds that spread.", ""]
    if runs.get("note"):  # how the twins or runs were extended after the section was written
        lines += [runs["note"], ""]
    header = ["run", "version", "dataset", "steps", "encoder",
              *[title for _, title, _ in COLUMNS]]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for run in runs.get("runs", []):
        for label, scores in run["methods"].items():
            first = label == METHODS[0][1]
            cells = [f"`{run['name']}`" if first else "", str(run.get("version") or "–")
                     if first else "", str(run.get("dataset") or "–") if first else "",
                     str(run.get("steps") or "–") if first else "", label]
            cells += [number_cell(scores.get(key), digits) for key, _, digits in COLUMNS]
            lines.append("| " + " | ".join(cells) + " |")
        if run.get("twin_seeds"):
            twins = run_twins(run)
            label = f"untrained twins, {len(twins)} seeds: mean ± std (range)"
            if run.get("twin_seeds_from"):
                gap = run.get("twin_seeds_check", {}).get("largest_difference", 0.0)
                label += (f"; seeds 1+ scored with `{run['twin_seeds_from']}` (seed-0 twins "
                          + (f"within {gap:.2g})" if gap else "equal on every score)"))
            lines.append("| " + " | ".join(["", "", "", "", label, *[
                _counted_cell([t.get(key) for t in twins], digits)
                for key, _, digits in COLUMNS]]) + " |")
    if runs.get("figure"):
        lines += ["", f"![each run beside its untrained twins]({runs['figure']})"]
    for group in runs.get("replicates", []):
        lines += ["", *_replicate_table(runs, group)]
    return "\n".join(lines) + "\n"


def _replicates(runs: dict[str, Any], group: dict[str, Any]
                ) -> tuple[list[dict], list[dict]] | None:
    """The pre-trained scores of a group's runs and one set of untrained twins, by seed: runs
    of one recipe share their twins (same architecture, vocabularies and seeds), so a seed's
    scores are averaged over the runs that scored it (scoring repeats to ~0.1 point)."""
    members = [r for r in runs.get("runs", []) if r["name"] in group["names"]]
    if len(members) < 2:
        return None
    pretrained = [r["methods"][METHODS[0][1]] for r in members]
    by_seed: dict[str, list[dict]] = {}
    for run in members:
        for seed, twin in (("0", run["methods"][METHODS[1][1]]),
                           *run.get("twin_seeds", {}).items()):
            by_seed.setdefault(seed, []).append(twin)
    twins = []
    for scored in by_seed.values():
        keys = {key for twin in scored for key in twin}
        twins.append({key: (statistics.mean(values) if (values := [
            t[key] for t in scored if t.get(key) is not None]) else None) for key in keys})
    return pretrained, twins


def _replicate_table(runs: dict[str, Any], group: dict[str, Any]) -> list[str]:
    found = _replicates(runs, group)
    if found is None:
        return []
    pretrained, twins = found
    header = ["encoder", *[title for _, title, _ in COLUMNS]]
    lines = [f"### Pre-training seeds: {group['label']}", "",
             "The runs " + ", ".join(f"`{n}`" for n in group["names"]) + " train one recipe "
             "(the pre-training seed, the hardware or, as the steps column shows, the length may "
             "differ): the spread of the pre-trained encoders beside the spread of the untrained "
             "twins.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, rows in ((f"pre-trained, {len(pretrained)} runs", pretrained),
                        (f"untrained twins, {len(twins)} seeds", twins)):
        lines.append("| " + " | ".join([f"{label}: mean ± std (range)", *[
            _counted_cell([r.get(key) for r in rows], digits)
            for key, _, digits in COLUMNS]]) + " |")
    return lines


def replicate_statements(runs: dict[str, Any]) -> list[str]:
    """Per replicate group: the pre-trained runs' mean against the twins' mean (MAP@R ratio,
    DevMap leakage-free gains), and whether the worst run still clears the best twin."""
    lines = []
    for group in runs.get("replicates", []):
        found = _replicates(runs, group)
        if found is None:
            continue
        pretrained, twins = found
        parts = []
        for key, title, digits in COLUMNS:
            mine = spread([r.get(key) for r in pretrained])
            base = spread([t.get(key) for t in twins])
            if mine is None or base is None:
                continue
            if key == "map_fused":
                ratio = mine.mean / base.mean
                gain = f"{ratio:.2f}x, target 2x: {verdict(ratio >= 2.0)}"
            elif key.startswith("devmap"):
                gain = (f"{mine.mean - base.mean:+.{digits}f}, target +2: "
                        f"{verdict(mine.mean - base.mean >= 2.0)}")
            else:
                gain = f"{mine.mean - base.mean:+.{digits}f}"
            clear = "worst run above the best twin" if mine.low > base.high else (
                "ranges overlap" if mine.low <= base.high and mine.high >= base.low
                else "every run below every twin")
            parts.append(f"{title} {mine.mean:.{digits}f} vs {base.mean:.{digits}f} "
                         f"({_fewer(base, twins)}{gain}; {clear})")
        if parts:
            lines.append(f"**pre-training seeds, {group['label']}** ({len(pretrained)} runs "
                         f"against {len(twins)} untrained twins, means): " + "; ".join(parts)
                         + ".")
    return lines


def _fewer(found: Spread, twins: list[dict[str, Any]]) -> str:
    """``"k of n twins; "`` where a score was measured for only some of the twins (a twin
    drawn later, scored on another machine, leaves out the machine-dependent DevMap rows)."""
    return f"{found.n} of {len(twins)} twins; " if found.n < len(twins) else ""


def twin_spread_statements(runs: dict[str, Any], config_name: str | None) -> list[str]:
    """The pre-training targets judged against the mean of several untrained twins (one run:
    the one named ``config_name``, the encoder the report is about), where twins were drawn
    at more than one seed: invariance MAP@R >= 2x, the vectorised? probe >= +5 points, DevMap
    leakage-free >= +2 points."""
    run = next((r for r in runs.get("runs", []) if r["name"] == config_name
                and r.get("twin_seeds")), None)
    if run is None:
        return []
    encoder = run["methods"][METHODS[0][1]]
    twins = run_twins(run)
    parts = []
    found = spread([t.get("map_fused") for t in twins])
    if found and encoder.get("map_fused") is not None:
        ratio = encoder["map_fused"] / found.mean
        parts.append(f"invariance MAP@R {encoder['map_fused']:.3f} = {ratio:.2f}x the twins' "
                     f"mean {found.mean:.3f} ± {found.std:.3f} ({found.n} seeds; target 2x: "
                     f"{verdict(ratio >= 2.0)})")
    for grouping in ("source", "template"):
        key = f"vectorized_{grouping}"
        found = spread([t.get(key) for t in twins])
        if found and encoder.get(key) is not None:
            gain = 100 * (encoder[key] - found.mean)
            parts.append(f"vectorised? ({grouping} folds) {encoder[key]:.3f} vs twins "
                         f"{found.mean:.3f} ± {found.std:.3f} ({_fewer(found, twins)}"
                         f"{gain:+.1f} points; target +5: "
                         f"{verdict(gain >= 5.0)}"
                         + ("; above every twin" if encoder[key] > found.high else "") + ")")
    for rows in ("devmap-669", "devmap-680"):
        for platform in ("amd", "nvidia"):
            key = f"{rows}_{platform}"
            found = spread([t.get(key) for t in twins])
            if found and encoder.get(key) is not None:
                gain = encoder[key] - found.mean
                parts.append(f"{rows} LF {platform} {encoder[key]:.1f} % vs twins "
                             f"{found.mean:.1f} ± {found.std:.1f} ({_fewer(found, twins)}"
                             f"{gain:+.1f}; target +2: "
                             f"{verdict(gain >= 2.0)})")
    found = spread([t.get("coarsening") for t in twins])
    if found and encoder.get("coarsening") is not None:
        parts.append(f"thread coarsening LF {encoder['coarsening']:.3f}x vs twins "
                     f"{found.mean:.3f}x ± {found.std:.3f} ({_fewer(found, twins)}range "
                     f"{found.low:.3f}–"
                     f"{found.high:.3f}x)")
    if not parts:
        return []
    return [f"**pre-training against {len(twins)} untrained twins** (`{config_name}`, twins "
            "drawn at seeds " + ", ".join(["0", *run["twin_seeds"]]) + "): " + "; ".join(parts)
            + "."]
