"""The learning-curve table (pure functions): a pre-training run's scores at each kept
checkpoint, from step 0 (its untrained twin) to the final encoder, beside the twins' range.
Reads the folders ``infra/learning_curve.sh`` completes; ``learning_curve.py`` merges the
table into the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .record_table import COLUMNS, METHODS, collect_run, evaluations, method_scores, spread
from .table_cells import number_cell

__all__ = ["collect_curve", "curve_markdown", "curve_statements"]


def _step_of(folder: Path) -> int:
    return int(folder.name.removeprefix("step-"))


def collect_curve(folder: Path) -> dict[str, Any]:
    """One run's points (step, scores), ordered by step: step 0 is the seed-0 twin, the
    checkpoints' scores come from ``curve/step-<N>/`` and the final encoder's from the
    folder itself (read as the runs of record read it, :func:`collect_run`); ``twins`` holds
    every twin's scores (seed 0 first)."""
    run = collect_run(folder)
    final_step = run["steps"]
    if final_step is None:
        raise ValueError(f"{folder} holds no scored encoder (run infra/evaluate_run.sh first)")
    (_, trained), (_, twin) = METHODS
    twins = [run["methods"][twin], *run["twin_seeds"].values()]
    points = [{"step": 0, "scores": twins[0]}]
    for step_folder in sorted((folder / "curve").glob("step-*"), key=_step_of):
        step = _step_of(step_folder)
        if 0 < step < final_step:
            points.append({"step": step, "scores": method_scores(
                *evaluations(step_folder), "encoder")})
    points.append({"step": final_step, "scores": run["methods"][trained]})
    return {"name": run["name"], "folder": str(folder), "points": points, "twins": twins}


def curve_markdown(curves: dict[str, Any]) -> str:
    """The ``## Learning curves`` section of STUDIES.md: one table per run."""
    lines = ["## Learning curves (scores against pre-training steps)", "",
             "Each kept checkpoint of a full-length run exported as an encoder package "
             "(`infra/learning_curve.sh`) and scored like the run's final encoder: fused "
             "embedding, first token window, the probes' headline scores and every "
             "leakage-free downstream protocol. Step 0 is the untrained twin at seed 0 (random "
             "weights, as before the first step); the last row gives the untrained twins at "
             "every seed scored: a score that stays inside their range has not moved from what "
             "random weights give."]
    if curves.get("figure"):
        lines += ["", f"![learning curves]({curves['figure']})"]
    header = "| step | " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    rule = "|" + "---|" * (len(COLUMNS) + 1)
    for curve in curves.get("runs", []):
        lines += ["", f"### `{curve['name']}`", "", header, rule]
        for point in curve["points"]:
            cells = [number_cell(point["scores"].get(key), digits)
                     for key, _, digits in COLUMNS]
            lines.append(f"| {point['step']} | " + " | ".join(cells) + " |")
        cells = []
        for key, _, digits in COLUMNS:
            found = spread([twin.get(key) for twin in curve["twins"]])
            cells.append(number_cell(None, digits) if found is None else
                         f"{found.low:.{digits}f}–{found.high:.{digits}f}")
        lines.append(f"| untrained twins ({len(curve['twins'])} seeds, range) | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def curve_statements(curves: dict[str, Any]) -> list[str]:
    """One Targets line per learning curve: each score from step 0 to the final step, and at
    how many checkpoints after step 0 it lay outside the untrained twins' range (above and
    below) — what more training of that recipe would buy."""
    lines = []
    for curve in curves.get("runs", []):
        points = curve["points"]
        if len(points) < 3:
            continue
        parts = []
        for key, title, digits in COLUMNS:
            twins = spread([twin.get(key) for twin in curve["twins"]])
            values = [p["scores"].get(key) for p in points[1:]]
            start = points[0]["scores"].get(key)
            if twins is None or start is None or any(v is None for v in values):
                continue
            above = sum(v > twins.high for v in values)
            below = sum(v < twins.low for v in values)
            parts.append(f"{title} {start:.{digits}f} -> {values[-1]:.{digits}f} (above the "
                         f"twins' range at {above}, below at {below} of {len(values)})")
        if parts:
            lines.append(f"**learning curve** (`{curve['name']}`, checkpoints at steps "
                         f"{', '.join(str(p['step']) for p in points[1:])}): "
                         + "; ".join(parts) + ".")
    return lines
