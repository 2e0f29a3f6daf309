"""The field's pre-trained embedding against its untrained twins (pure functions over the
evaluation summaries ``peer_twins.py`` reads): rows, STUDIES.md section, Targets line, figure.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from .devmap_resolution_stats import PEER_MARK
from .figures import save_figure
from .target_checks import task_scale

__all__ = ["PUBLISHED_NAMES", "collect_peer_rows", "peer_twins_markdown", "peer_statements",
           "draw_peer_twins"]

TITLE = "Does the field's pre-trained embedding beat its own untrained twin?"
PUBLISHED_NAMES = {"ir2vec-fa": "IR2Vec flow-aware", "ir2vec-sym": "IR2Vec symbolic"}
"""A feature set's name among the published numbers."""
PUBLISHED_SETTING = {"devmap": ("devmap-669", "literature-rs104"),
                     "thread-coarsening": ("thread-coarsening", "literature")}
"""Where a published number was measured: IR2Vec's notebooks' row set and split seed."""


def _published(summary: dict[str, Any], task: str, protocol: str, platform: str,
               metric: str, base: str) -> float | None:
    name = PUBLISHED_NAMES.get(base)
    family = "devmap" if task.startswith("devmap") else task
    if name is None or PUBLISHED_SETTING.get(family) != (task, protocol):
        return None
    value = summary.get("published", {}).get(family, {}).get(name, {}).get(
        platform, {}).get(metric)
    return None if value is None else float(value)


def collect_peer_rows(summaries: list[dict[str, Any]], base: str) -> dict[str, Any]:
    """``{"base", "twins", "rows"}`` from evaluation summaries: every (task, protocol,
    platform) the base and all of its twins (``base@DIR`` rows) were scored on; thread
    coarsening on its platforms' average. Each row: ``trained``, ``twins`` (in ``twins``'
    order), ``metric`` and the ``published`` number where one was measured on that setting.

    Raises:
        ValueError: no setting holds the base and at least 3 twins.
    """
    twins: list[str] = []
    rows = []
    for summary in summaries:
        for task, protocols in summary.get("results", {}).items():
            for protocol, platforms in protocols.items():
                keys, metric_key, _, _ = task_scale(task, platforms)
                metric = metric_key.removesuffix("_mean")
                for platform in keys:
                    methods = platforms[platform]
                    mine = [m for m in methods if m.startswith(base + PEER_MARK)]
                    if base not in methods or len(mine) < 3:
                        continue
                    twins = twins or mine
                    if mine != twins:
                        raise ValueError(f"{task} {protocol} {platform}: other twins than the "
                                         f"first setting's ({len(mine)} against {len(twins)})")
                    value = methods[base][metric_key]
                    rows.append({"task": task, "protocol": protocol, "platform": platform,
                                 "metric": metric, "trained": value,
                                 "twins": [methods[t][metric_key] for t in twins],
                                 "seeds": methods[base].get("n_seeds"),
                                 "published": _published(summary, task, protocol, platform,
                                                         metric, base)})
    if not rows:
        raise ValueError(f"no setting holds {base} and at least 3 twins ({base}@DIR rows)")
    return {"base": base, "twins": twins, "rows": rows}


def _twin_name(name: str) -> str:
    return Path(name.split(PEER_MARK, 1)[1]).name or name


def _fmt(value: float, metric: str) -> str:
    return f"{value:.3f}x" if metric == "speedup" else f"{value:.1f}"


def _lead(row: dict[str, Any]) -> float:
    return row["trained"] - statistics.mean(row["twins"])


def _lead_text(row: dict[str, Any]) -> str:
    lead = _lead(row)
    return f"{lead:+.3f}x" if row["metric"] == "speedup" else f"{lead:+.1f}"


def _setting(row: dict[str, Any]) -> str:
    platform = "" if row["platform"] == "average" else f" {row['platform'].upper()}"
    return f"{row['task']} {row['protocol']}{platform}"


def peer_twins_markdown(section: dict[str, Any]) -> str:
    """The study page's section: the base beside its twins and the published number on
    every setting, and what that says."""
    base, rows = section["base"], section["rows"]
    n = len(section["twins"])
    names = ", ".join(f"`{_twin_name(t)}`" for t in section["twins"])
    lines = [f"## {TITLE}", "",
             f"`{base}` with its released seed vocabulary (trained by its authors) beside {n} "
             f"untrained twins of its own ({names}: the same entities and norms, random "
             "directions; `python -m mirencoder.training.evaluation.features.ir2vec_vocab`), the "
             "aggregation unchanged, on the report's rows, folds and heads (each protocol's "
             "seeds), and beside the number its authors published where they measured one. "
             "Folders: " + ", ".join(f"`{f}`" for f in section.get("folders", [])) + ".", ""]
    if section.get("note"):
        lines += [section["note"], ""]
    lines += [f"| setting | released vocabulary | {n} random vocabularies: mean (range) | lead | "
              "above twins | published |", "|---|---|---|---|---|---|"]
    for row in rows:
        metric = row["metric"]
        twins = row["twins"]
        published = "–" if row["published"] is None else _fmt(row["published"], metric)
        lines.append(f"| {_setting(row)} | {_fmt(row['trained'], metric)} | "
                     f"{_fmt(statistics.mean(twins), metric)} ({_fmt(min(twins), metric)}-"
                     f"{_fmt(max(twins), metric)}) | {_lead_text(row)} | "
                     f"{sum(row['trained'] > t for t in twins)} of {len(twins)} | {published} |")
    lines += ["", _reading(section)]
    if section.get("figure"):
        lines += ["", f"![peer twins]({section['figure']})"]
    return "\n".join(lines) + "\n"


def _reading(section: dict[str, Any]) -> str:
    """The counts: settings where the trained vocabulary is above / below every twin, the
    DevMap leads, and the published numbers against the twins' range."""
    rows = section["rows"]
    above = sum(r["trained"] > max(r["twins"]) for r in rows)
    below = sum(r["trained"] < min(r["twins"]) for r in rows)
    devmap = [_lead(r) for r in rows if r["metric"] == "accuracy"]
    text = (f"Reading: the released vocabulary is above every random one on {above} of "
            f"{len(rows)} settings and below every one on {below}.")
    if devmap:
        text += (f" On DevMap its lead over the random vocabularies' mean runs from "
                 f"{min(devmap):+.1f} to {max(devmap):+.1f} points (mean "
                 f"{statistics.mean(devmap):+.1f}; +2 or more on {sum(d >= 2 for d in devmap)} "
                 f"of {len(devmap)} settings).")
    published = [r for r in rows if r["published"] is not None]
    if published:
        inside = [f"{_setting(r)} {_fmt(r['published'], r['metric'])} (random vocabularies "
                  f"{_fmt(min(r['twins']), r['metric'])}-{_fmt(max(r['twins']), r['metric'])})"
                  for r in published]
        text += (" Published numbers beside the random vocabularies on the same protocol: "
                 + "; ".join(inside) + ".")
    return text + (" What these protocols reward here is the aggregation of IR entities along "
                   "the program, which a random vocabulary keeps, more than what TransE "
                   "learned." if above <= len(rows) / 2 else "")


def peer_statements(section: dict[str, Any]) -> list[str]:
    """One Targets line."""
    if not section.get("rows"):
        return []
    rows = section["rows"]
    devmap = [_lead(r) for r in rows if r["metric"] == "accuracy"]
    speed = [r for r in rows if r["metric"] == "speedup"]
    parts = [f"above every random vocabulary on {sum(r['trained'] > max(r['twins']) for r in rows)}"
             f" of {len(rows)} settings"]
    if devmap:
        parts.append(f"DevMap leads {min(devmap):+.1f} to {max(devmap):+.1f} points, +2 on "
                     f"{sum(d >= 2 for d in devmap)} of {len(devmap)}")
    parts += [f"{_setting(r)} {_fmt(r['trained'], r['metric'])} against "
              f"{_fmt(min(r['twins']), r['metric'])}-{_fmt(max(r['twins']), r['metric'])}"
              for r in speed]
    return [f"**the field's pre-trained embedding against its untrained twins** "
            f"(`{section['base']}` with its released seed vocabulary against "
            f"{len(section['twins'])} random ones of the same entities and norms, on every "
            "protocol): " + "; ".join(parts) + "."]


def draw_peer_twins(section: dict[str, Any], png: Path) -> Path:
    """Two panels (accuracy, speedup): per setting the random vocabularies (grey), the
    released one (red) and the published number (black cross)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(m, [r for r in section["rows"] if r["metric"] == m])
              for m in ("accuracy", "speedup")]
    panels = [(m, rows) for m, rows in panels if rows]
    heights = [len(rows) for _, rows in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 1.0 + 0.38 * sum(heights) + 0.6 *
                                                      len(panels)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for index, (ax, (metric, rows)) in enumerate(zip(axes[:, 0], panels, strict=True)):
        for y, row in enumerate(rows):
            ax.plot(row["twins"], [y] * len(row["twins"]), "o", color="tab:gray", alpha=0.6,
                    ms=4, label="random vocabularies" if y == 0 else None)
            ax.plot(row["trained"], y, "D", color="tab:red", ms=6,
                    label="released vocabulary" if y == 0 else None)
            if row["published"] is not None:
                ax.plot(row["published"], y, "x", color="black", ms=7,
                        label="published" if y == 0 else None)
        ax.set_yticks(range(len(rows)), [_setting(r) for r in rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("accuracy %" if metric == "accuracy" else "mean speedup (x)", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        if index == 0:  # one legend: the markers mean the same in every panel
            ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"{section['base']}: released seed vocabulary against "
                 f"{len(section['twins'])} random ones", fontsize=9)
    return save_figure(fig, png)
