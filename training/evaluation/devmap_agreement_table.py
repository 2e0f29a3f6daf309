"""Do DevMap's two row sets agree on which representation is better? (pure functions; the
section with its figure, derived at every report render, is ``devmap_agreement.py``).

DevMap's two row sets are one set of measurements (the rows they share agree on every label and
run-time input) with two IR programs per kernel: IR2Vec's ready IR (669 rows) and the IR
compiled here from the OpenCL source (680 rows, the pre-training corpus's toolchain). A
representation that carries more device-relevant information, and not only a reading of one
toolchain's IR, should score higher on both row sets of a platform. This reads what the report already holds, with
nothing recomputed: every run of record's pre-trained encoder and every distinct untrained twin
(``runs_of_record``), and the baselines and controls of the report's own DevMap run
(``results``), and asks how well the 669-row accuracy of a representation predicts its
680-row accuracy (leakage-free protocol, fused output, 3 fold/head seeds each). Among the twins
it also counts how often a random encoder lands a target-sized lead over its siblings by
chance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .record_table import run_twins

__all__ = ["PLATFORMS", "CONTROLS", "TITLE", "platform_title", "representation_points", "pearson_interval",
           "twin_leads", "run_leads", "devmap_agreement", "devmap_agreement_markdown",
           "devmap_agreement_statements"]

TITLE = "Do DevMap's two row sets agree on which representation is better? (leakage-free)"
PLATFORMS = ("amd", "nvidia")
SETTINGS = tuple(f"devmap-{rows}_{p}" for rows in ("669", "680") for p in PLATFORMS)
CONTROLS = ("runtime-only", "kernel-identity", "program-size", "opcode-histogram",
            "loop-opcode-histogram", "memory-ops", "ir2vec-fa", "ir2vec-sym")
"""The report's DevMap methods that are representations in their own right (not the encoder's
rows, already among the runs, nor the static and oracle bounds)."""
LEAD = 2.0
"""The issue's DevMap pre-training target: the encoder at least 2 points above its twin."""
GROUPS = {"pre-trained": "pre-trained encoders (runs of record)",
          "twins": "untrained twins (distinct)", "controls": "baselines and controls"}


def platform_title(platform: str) -> str:
    """``AMD`` / ``NVIDIA``: a platform as the page and the figure name it."""
    return {"amd": "AMD", "nvidia": "NVIDIA"}.get(platform, platform)


def _scores(source: dict[str, Any]) -> tuple[float, ...] | None:
    values = tuple(source.get(key) for key in SETTINGS)
    return None if any(v is None for v in values) else tuple(float(v) for v in values)


def representation_points(summary: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """``{group: [{"name", "scores": {setting: accuracy}}]}`` for the pre-trained encoders of
    the runs of record, their distinct untrained twins (runs of one architecture share twins:
    a twin is counted once) and the controls; a representation lacking a setting is left
    out."""
    runs = summary.get("runs_of_record", {}).get("runs", [])
    pre_trained, twins, seen = [], [], set()
    for run in runs:
        mine = _scores(run["methods"].get("pre-trained", {}))
        if mine is not None:
            pre_trained.append({"name": run["name"], "scores": dict(zip(SETTINGS, mine,
                                                                        strict=True))})
        for seed, twin in enumerate(run_twins(run)):
            theirs = _scores(twin)
            if theirs is not None and theirs not in seen:
                seen.add(theirs)
                twins.append({"name": f"{run['name']} twin {seed}",
                              "scores": dict(zip(SETTINGS, theirs, strict=True))})
    controls = []
    results = summary.get("results", {})
    for method in CONTROLS:
        scores = {}
        for setting in SETTINGS:
            rows, platform = setting.removeprefix("devmap-").split("_")
            cell = (results.get(f"devmap-{rows}", {}).get("leakage-free", {}).get(platform, {})
                    .get(method, {}))
            scores[setting] = cell.get("accuracy_mean")
        if all(v is not None for v in scores.values()):
            controls.append({"name": method, "scores": scores})
    return {"pre-trained": pre_trained, "twins": twins, "controls": controls}


def pearson_interval(x: np.ndarray, y: np.ndarray, *, draws: int = 10_000,
                     seed: int = 0) -> tuple[float, float, float] | None:
    """Pearson's r of paired values and its 95 % percentile-bootstrap interval over the pairs
    (draws with no spread in either variable are skipped); None below 3 pairs."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 3 or x.std() == 0 or y.std() == 0:
        return None
    r = float(np.corrcoef(x, y)[0, 1])
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(x), size=(draws, len(x)))
    xs, ys = x[picks], y[picks]
    xc, yc = xs - xs.mean(1, keepdims=True), ys - ys.mean(1, keepdims=True)
    denominator = np.sqrt((xc ** 2).sum(1) * (yc ** 2).sum(1))
    ok = denominator > 0
    boot = (xc * yc).sum(1)[ok] / denominator[ok]
    low, high = np.percentile(boot, [2.5, 97.5])
    return r, float(low), float(high)


def twin_leads(summary: dict[str, Any], *, lead: float = LEAD,
               min_twins: int = 5) -> dict[str, Any]:
    """How often a random encoder clears the target by chance: within each distinct set of at
    least ``min_twins`` twins (one architecture and vocabulary, seeds 0..n), every twin against
    the mean of its siblings, per setting. Returns ``{"twins", "sets", "per_setting": {setting:
    count}, "any": twins with a lead on at least one setting, "both_rows": ... on both row sets
    of one platform, "all": ... on all four}``."""
    sets, seen = [], set()
    for run in summary.get("runs_of_record", {}).get("runs", []):
        scored = [s for s in (_scores(t) for t in run_twins(run)) if s is not None]
        key = tuple(scored)
        if len(scored) >= min_twins and key not in seen:
            seen.add(key)
            sets.append(np.array(scored))
    gaps = [scores[i] - np.delete(scores, i, axis=0).mean(0)
            for scores in sets for i in range(len(scores))]
    return {"twins": len(gaps), "sets": len(sets), **_lead_counts(gaps, lead)}


def _both_rows(ahead: np.ndarray) -> bool:
    """Ahead on the 669 and the 680 rows of one platform (``ahead`` in ``SETTINGS`` order)."""
    half = len(PLATFORMS)
    return any(ahead[j] and ahead[j + half] for j in range(half))


def _lead_counts(leads: list[np.ndarray], lead: float) -> dict[str, Any]:
    per_setting = dict.fromkeys(SETTINGS, 0)
    counts = {"any": 0, "both_rows": 0, "all": 0}
    for gap in leads:
        ahead = gap >= lead
        for setting, hit in zip(SETTINGS, ahead, strict=True):
            per_setting[setting] += int(hit)
        counts["any"] += int(ahead.any())
        counts["both_rows"] += int(_both_rows(ahead))
        counts["all"] += int(ahead.all())
    return {"lead": lead, "per_setting": per_setting, **counts}


def run_leads(summary: dict[str, Any], *, lead: float = LEAD) -> dict[str, Any]:
    """The same counts for the pre-trained encoders: each run of record against the mean of its
    own twins scored on DevMap (``runs``: how many runs had both; ``both_rows_runs``: the names
    of those that lead on both row sets of a platform)."""
    gaps, names = [], []
    for run in summary.get("runs_of_record", {}).get("runs", []):
        mine = _scores(run["methods"].get("pre-trained", {}))
        twins = [s for s in (_scores(t) for t in run_twins(run)) if s is not None]
        if mine is not None and twins:
            gaps.append(np.array(mine) - np.mean(twins, axis=0))
            names.append(run["name"])
    counts = _lead_counts(gaps, lead)
    both = [n for n, g in zip(names, gaps, strict=True) if _both_rows(g >= lead)]
    return {"runs": len(gaps), **counts, "both_rows_runs": both}


def devmap_agreement(summary: dict[str, Any], *, draws: int = 10_000) -> dict[str, Any]:
    """The study's section: the points, per group and platform the 669-680 correlation with its
    interval, and the twins' chance leads; {} when no run of record has DevMap leakage-free
    scores on both row sets."""
    points = representation_points(summary)
    if not points["pre-trained"]:
        return {}
    correlations: dict[str, dict[str, list[float] | None]] = {}
    pooled = {"encoders": points["pre-trained"] + points["twins"],
              "all": points["pre-trained"] + points["twins"] + points["controls"]}
    for group, members in {**points, **pooled}.items():
        correlations[group] = {}
        for platform in PLATFORMS:
            x = [m["scores"][f"devmap-669_{platform}"] for m in members]
            y = [m["scores"][f"devmap-680_{platform}"] for m in members]
            found = pearson_interval(np.array(x), np.array(y), draws=draws)
            correlations[group][platform] = list(found) if found is not None else None
    return {"title": TITLE, "points": points, "correlations": correlations,
            "twin_leads": twin_leads(summary), "run_leads": run_leads(summary), "draws": draws}


_GROUP_ROWS = {**GROUPS, "encoders": "every encoder (pre-trained and twins)",
               "all": "every representation above"}


def _per_setting(counts: dict[str, int]) -> str:
    return ", ".join(f"{s.removeprefix('devmap-').replace('_', ' ')} {c}"
                     for s, c in counts.items())


def _r_cell(found: list[float] | None) -> str:
    return "–" if found is None else f"{found[0]:+.2f} ({found[1]:+.2f} to {found[2]:+.2f})"


def devmap_agreement_markdown(section: dict[str, Any]) -> str:
    """The study page's section: the correlation table, the chance leads and the figure."""
    points, correlations = section["points"], section["correlations"]
    lines = [f"## {section.get('title', TITLE)}", "",
             "DevMap's two row sets are one set of measurements (the rows they share agree on "
             "every label and run-time input, on the AMD and the NVIDIA platform) with two IR "
             "programs per kernel: IR2Vec's ready IR (669 rows) and the IR compiled here from "
             "the OpenCL source (680 rows, the pre-training corpus's toolchain). A "
             "representation that carries more device-relevant information, and not only a "
             "reading of one toolchain's IR, should score higher on both row sets of a "
             "platform. Each point is one "
             "representation's leakage-free accuracy (fused output, XGBoost, 3 fold/head seeds) "
             "as the report records it: the pre-trained encoder of every run of record, every "
             "distinct untrained twin of those runs (runs of one architecture share their twins; "
             "each counted once) and the report's baselines and controls. Cells: Pearson's r "
             "between a representation's 669-row and 680-row accuracy, with a 95 % bootstrap "
             f"interval over the representations ({section.get('draws', 0):,} draws). Nothing is "
             "recomputed: the section is derived from `results/summary.json` (`runs_of_record`, "
             "`results`) each time the report is written.", "",
             "| representations | n | AMD: r (669 vs 680 rows) | NVIDIA: r (669 vs 680 rows) |",
             "|---|---|---|---|"]
    for group, label in _GROUP_ROWS.items():
        n = (len(points[group]) if group in points else
             len(points["pre-trained"]) + len(points["twins"])
             + (len(points["controls"]) if group == "all" else 0))
        cells = [_r_cell(correlations.get(group, {}).get(p)) for p in PLATFORMS]
        lines.append(f"| {label} | {n} | " + " | ".join(cells) + " |")
    leads = section["twin_leads"]
    if leads["twins"]:
        per = _per_setting(leads["per_setting"])
        lines += ["", f"Chance leads: {leads['twins']} untrained twins in {leads['sets']} sets "
                  f"of one architecture each, every twin against the mean of its siblings. "
                  f"A lead of at least {leads['lead']:g} points (the pre-training target) on "
                  f"a setting: {per}; on at least one of the four settings "
                  f"{leads['any']} of {leads['twins']}; on both row sets of one platform "
                  f"{leads['both_rows']}; on all four {leads['all']}."]
    runs = section.get("run_leads", {})
    if runs.get("runs"):
        per = _per_setting(runs["per_setting"])
        both = (f" ({', '.join(f'`{n}`' for n in runs['both_rows_runs'])})"
                if runs["both_rows_runs"] else "")
        lines += ["", f"The pre-trained encoders the same way: {runs['runs']} runs of record, "
                  f"each against the mean of its own twins scored on DevMap. A lead of at least "
                  f"{runs['lead']:g} points on a setting: {per}; on at least one of the four "
                  f"settings {runs['any']} of {runs['runs']}; on both row sets of one platform "
                  f"{runs['both_rows']}{both}; on all four {runs['all']}."]
    lines += ["", _reading(correlations)]
    if section.get("figure"):
        lines += ["", f"![669 rows against 680 rows](../{section['figure']})"]
    if section.get("note"):
        lines += ["", section["note"]]
    return "\n".join(lines) + "\n"


def _reading(correlations: dict[str, Any]) -> str:
    """What the correlations say about reading a DevMap lead, from the numbers themselves."""
    encoders = [correlations.get("encoders", {}).get(p) for p in PLATFORMS]
    if any(found is None for found in encoders):
        return "Reading: too few encoders scored on both row sets to say."
    if all(low <= 0 <= high for _, low, high in encoders):
        return ("Reading: between encoders (pre-trained or random) the two row sets do not agree "
                "on either platform: the interval of r includes 0, so an encoder's accuracy on "
                "one row set says next to nothing about its accuracy on the other. Part of the "
                "differences among them is the protocol's noise at 3 seeds, the rest is tied to "
                "the row set's IR (How finely DevMap leakage-free separates encoders measures "
                "both, where the report holds it). A DevMap lead of a "
                "pre-trained encoder over its twins is therefore evidence only where it repeats "
                "on both row sets of a platform; the chance leads above show how often a random "
                "encoder clears 2 points on a single setting.")
    return ("Reading: on at least one platform the two row sets agree between encoders (the "
            "interval of r excludes 0): a lead that holds on both row sets there carries "
            "information beyond the protocol's noise.")


def devmap_agreement_statements(section: dict[str, Any]) -> list[str]:
    """One Targets line: how far a DevMap lead on one row set says anything about the other."""
    if not section:
        return []
    encoders = section["correlations"].get("encoders", {})
    controls = section["correlations"].get("controls", {})
    leads = section["twin_leads"]
    parts = [f"{platform_title(p)} r {_r_cell(encoders.get(p))} over "
             f"{len(section['points']['pre-trained']) + len(section['points']['twins'])} "
             f"encoders, {_r_cell(controls.get(p))} over the "
             f"{len(section['points']['controls'])} controls" for p in PLATFORMS]
    chance = (f"; {leads['any']} of {leads['twins']} untrained twins lead their siblings by "
              f"{leads['lead']:g}+ points on at least one setting by chance, "
              f"{leads['both_rows']} on both row sets of a platform" if leads["twins"] else "")
    runs = section.get("run_leads", {})
    if runs.get("runs"):
        chance += (f"; pre-trained runs over their twins: {runs['any']} of {runs['runs']} on at "
                   f"least one setting, {runs['both_rows']} on both row sets of a platform")
    return [f"**DevMap's two row sets as a ruler** (669 against 680 rows, leakage-free; "
            f"{section.get('title', TITLE)}): " + "; ".join(parts) + chance + "."]
