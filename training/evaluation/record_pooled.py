"""Pre-training's effect pooled over every run of record (pure functions): each run against
the mean of its own untrained twins, then the mean of those differences over the runs with a
bootstrap interval, how many runs clear every one of their twins, and how many reach the
issue's target. Reads the ``runs_of_record`` section (:mod:`record_table`); the runs differ in
recipe, so the pooled mean answers "does pre-training as this platform does it beat random
weights", not "does recipe X".
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .record_table import COLUMNS, METHODS, run_twins, runs_markdown

__all__ = ["RunEffect", "PooledEffect", "run_effects", "pooled_effects", "pooled_markdown",
           "pooled_statements", "draw_pooled_effects", "draw_record_figures",
           "record_section_markdown", "TARGETS"]

TARGETS = {"map_fused": ("ratio", 2.0), "vectorized_source": ("points", 5.0),
           "vectorized_template": ("points", 5.0), "devmap-669_amd": ("points", 2.0),
           "devmap-669_nvidia": ("points", 2.0), "devmap-680_amd": ("points", 2.0),
           "devmap-680_nvidia": ("points", 2.0), "coarsening": ("absolute", 1.10)}
"""Per score: how the effect is measured and the issue's target for it. ``ratio``: the
encoder's score over the twins' mean (MAP@R, target 2x); ``points``: the difference in
percentage points (probe accuracies times 100; target +5, DevMap +2); ``absolute``: the
encoder's own score (thread coarsening, target 1.10x; its difference to the twins is shown
too)."""


class RunEffect(NamedTuple):
    """One run's score against its own twins."""

    name: str
    twin_set: tuple
    """What identifies the run's twins (:func:`twin_set`): runs that share it share their
    twins' noise, so the interval resamples twin sets, not runs."""
    effect: float
    """Ratio or difference in points against the twins' mean (see :data:`TARGETS`); for
    thread coarsening the difference in speedup."""
    encoder: float
    twins: tuple[float, ...]


class PooledEffect(NamedTuple):
    """A score's effect over the runs."""

    key: str
    runs: int
    twin_sets: int
    """Distinct sets of twins among the runs (the units the interval resamples)."""
    mean: float
    low: float
    high: float
    """95 % percentile-bootstrap interval of the mean: twin sets drawn with replacement, each
    with all its runs (a cluster bootstrap)."""
    above_every_twin: int
    below_every_twin: int
    with_several_twins: int
    reached: int
    """Runs that reach the issue's target."""


def twin_set(run: dict[str, Any]) -> tuple:
    """The run's seed-0 twin as its probe and thread-coarsening scores (rounded to 1e-4).
    Runs of one architecture and corpus draw the same twin at each seed, whose probes and
    coarsening repeat to the last digit (DevMap rescored on another machine may move by 0.1
    and is left out); runs that share the seed-0 twin share the others they drew too."""
    twin = run["methods"][METHODS[1][1]]
    return tuple(None if twin.get(k) is None else round(twin[k], 4)
                 for k in ("map_fused", "vectorized_source", "vectorized_template",
                           "coarsening"))


def run_effects(runs: dict[str, Any]) -> dict[str, list[RunEffect]]:
    """Per score of :data:`COLUMNS`, each run that scored the encoder and at least one twin."""
    effects: dict[str, list[RunEffect]] = {key: [] for key, _, _ in COLUMNS}
    for run in runs.get("runs", []):
        encoder = run["methods"][METHODS[0][1]]
        for key, _, _ in COLUMNS:
            mine = encoder.get(key)
            twins = tuple(t[key] for t in run_twins(run) if t.get(key) is not None)
            if mine is None or not twins:
                continue
            base = statistics.mean(twins)
            kind, _ = TARGETS[key]
            effect = (mine / base if kind == "ratio" else
                      100 * (mine - base) if key.startswith("vectorized") else mine - base)
            effects[key].append(RunEffect(run["name"], twin_set(run), effect, mine, twins))
    return effects


def _reached(key: str, effect: RunEffect) -> bool:
    kind, target = TARGETS[key]
    return (effect.encoder if kind == "absolute" else effect.effect) >= target


def pooled_effects(runs: dict[str, Any], *, resamples: int = 10_000, seed: int = 0
                   ) -> list[PooledEffect]:
    """Per score with two or more runs: the mean effect over runs, its interval (twin sets
    drawn with replacement with all their runs, ``resamples`` times, seeded), and the runs'
    verdicts."""
    rng = np.random.default_rng(seed)
    pooled = []
    for key, found in run_effects(runs).items():
        if len(found) < 2:
            continue
        values = np.array([e.effect for e in found])
        sets = sorted({e.twin_set for e in found}, key=repr)
        sums = np.array([sum(e.effect for e in found if e.twin_set == t) for t in sets])
        counts = np.array([sum(e.twin_set == t for e in found) for t in sets])
        drawn = rng.integers(0, len(sets), (resamples, len(sets)))
        means = sums[drawn].sum(axis=1) / counts[drawn].sum(axis=1)
        several = [e for e in found if len(e.twins) >= 2]
        pooled.append(PooledEffect(
            key, len(found), len(sets), float(values.mean()), float(np.percentile(means, 2.5)),
            float(np.percentile(means, 97.5)),
            sum(e.encoder > max(e.twins) for e in several),
            sum(e.encoder < min(e.twins) for e in several), len(several),
            sum(_reached(key, e) for e in found)))
    return pooled


def _titles() -> dict[str, str]:
    return {key: title for key, title, _ in COLUMNS}


def _effect_text(key: str, value: float) -> str:
    kind, _ = TARGETS[key]
    if kind == "ratio":
        return f"{value:.2f}x"
    return f"{value:+.3f}x" if kind == "absolute" else f"{value:+.1f}"


def _target_text(key: str) -> str:
    kind, target = TARGETS[key]
    return {"ratio": f">= {target:g}x the twins", "points": f"twins + {target:g} points",
            "absolute": f">= {target:.2f}x (the encoder's own speedup)"}[kind]


def pooled_markdown(pooled: list[PooledEffect], figure: str | None = None) -> list[str]:
    """The "Every run against its own twins" table (lines)."""
    if not pooled:
        return []
    titles = _titles()
    lines = ["### Every run against its own twins (pre-training's effect, pooled)", "",
             "Each run's encoder against the mean of its own untrained twins (the ones scored "
             "for that run: seed 0, and seeds 1 and 2 where drawn), then the mean of those "
             "effects over the runs. Runs of one architecture and corpus share their twins, "
             "and so the twins' luck: the 95 % interval is a cluster bootstrap that draws "
             "sets of twins with replacement, each with all its runs (10,000 draws, seed 0), "
             "so it is as wide as the few independent twin sets make it (with a handful of them "
             "it is coarse and may sit off-centre). Effects: MAP@R as a "
             "ratio, probe accuracies in points, DevMap in points, thread coarsening as a "
             "difference in speedup. The runs differ in recipe, so the pooled mean is about "
             "this platform's pre-training at this scale, not one recipe. Above / below every "
             "twin counts the runs with two or more twins.", "",
             "| score | runs | twin sets | mean effect | 95 % interval | above every twin | "
             "below every twin | target | runs reaching it |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in pooled:
        title = titles[row.key]
        lines.append(
            f"| {title} | {row.runs} | {row.twin_sets} | {_effect_text(row.key, row.mean)} | "
            f"{_effect_text(row.key, row.low)} to {_effect_text(row.key, row.high)} | "
            f"{row.above_every_twin} of {row.with_several_twins} | {row.below_every_twin} of "
            f"{row.with_several_twins} | {_target_text(row.key)} | {row.reached} of "
            f"{row.runs} |")
    if figure:
        lines += ["", f"![each run's effect against its twins]({figure})"]
    return lines


def pooled_statements(pooled: list[PooledEffect]) -> list[str]:
    """One line for the report's targets: the pooled effect of every score."""
    if not pooled:
        return []
    titles = _titles()
    parts = []
    for row in pooled:
        title = titles[row.key]
        kind, _ = TARGETS[row.key]
        none = 1.0 if kind == "ratio" else 0.0
        sign = ("all of it above no effect" if row.low > none else
                "all of it below no effect" if row.high < none else "it includes no effect")
        parts.append(f"{title} {_effect_text(row.key, row.mean)} ({_effect_text(row.key, row.low)}"
                     f" to {_effect_text(row.key, row.high)}; {sign}; target reached in "
                     f"{row.reached} of {row.runs} runs)")
    runs = max(row.runs for row in pooled)
    sets = max(row.twin_sets for row in pooled)
    return [f"**pre-training's effect over every run of record** ({runs} runs, each against "
            f"its own twins' mean; mean and 95 % cluster-bootstrap interval over {sets} twin "
            "sets): " + "; ".join(parts) + "."]


def draw_pooled_effects(runs: dict[str, Any], out_png: Path,
                        pooled: list[PooledEffect] | None = None) -> Path:
    """One panel per score: each run's effect (dots), the pooled mean and its interval (bar),
    no effect (grey line) and the target (dashed red line); ``pooled``: the runs'
    :func:`pooled_effects`, when already computed."""
    from .record_plot import save_score_panels, score_panels

    effects = run_effects(runs)
    pooled = {row.key: row for row in (pooled_effects(runs) if pooled is None else pooled)}
    if not pooled:
        raise ValueError("fewer than two runs with twins: no pooled effect to draw")
    fig, axes = score_panels(2.6)
    for ax, (key, title, _) in zip(axes.flat, COLUMNS, strict=False):
        kind, target = TARGETS[key]
        values = [e.effect for e in effects[key]]
        jitter = np.linspace(-0.25, 0.25, len(values)) if values else []
        ax.scatter(values, jitter, color="tab:blue", s=18, alpha=0.7,
                   label="one run against its twins")
        if key in pooled:
            row = pooled[key]
            ax.errorbar([row.mean], [-0.6], xerr=[[row.mean - row.low], [row.high - row.mean]],
                        fmt="o", color="black", capsize=4, label="mean, 95 % interval")
        ax.axvline(1.0 if kind == "ratio" else 0.0, color="0.5", lw=1, label="no effect")
        if kind != "absolute":
            ax.axvline(target, color="tab:red", lw=1, ls="--", label="target")
        unit = {"ratio": "ratio to the twins' mean", "points": "points against the twins' mean",
                "absolute": "speedup difference to the twins' mean"}[kind]
        ax.set_title(f"{title}\n({unit})", fontsize=8)
        ax.set_yticks([])
        ax.set_ylim(-1.0, 0.5)
        ax.grid(axis="x", alpha=0.3)
    return save_score_panels(fig, axes, "Pre-training's effect: every run of record against its "
                             "own untrained twins", out_png)


def record_section_markdown(runs: dict[str, Any]) -> str:
    """The runs-of-record section with the pooled effect after the runs' table."""
    pooled = pooled_markdown(pooled_effects(runs), runs.get("effect_figure"))
    return runs_markdown(runs).rstrip() + ("\n\n" + "\n".join(pooled) if pooled else "") + "\n"


def draw_record_figures(runs: dict[str, Any], out_png: Path) -> Path:
    """Both figures of the section: the pooled effects beside ``out_png``
    (``pretraining_effect.png``, named in ``runs["effect_figure"]``, relative to the report
    folder as the runs' figure is) and the runs beside their twins into ``out_png``."""
    from .record_plot import draw_runs_of_record

    pooled = pooled_effects(runs)
    if pooled:
        effect = draw_pooled_effects(runs, out_png.parent / "pretraining_effect.png", pooled)
        runs["effect_figure"] = str(Path(out_png.parent.name) / effect.name)
    return draw_runs_of_record(runs, out_png)
