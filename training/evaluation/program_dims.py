"""How many program dimensions the DevMap head can use: leakage-free accuracy against K.

A diagnostic of the leakage-free protocol, not a protocol: each folder is one
``mirencoder eval devmap --protocols leakage-free --set devmap.program_dims=K`` run (K = 0:
every dimension), whose head saw each program representation reduced to its first K principal
components (fitted on the training folds) beside the run-time inputs. Folders named
``k<K>-twin<S>`` hold more untrained twins (``--untrained-model``) at seed S (only their twin
rows are read); with them the twins' row is a mean over seeds::

    python -m mirencoder.training.evaluation.program_dims runs/eval/program-dims --report-dir .

Writes the table and a figure (``results/program_dims.png``) into ``results/summary.json``
(key ``program_dims``) and RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["collect_program_dims", "program_dims_markdown", "program_dims_statements",
           "draw_program_dims", "main"]

METHODS = {"encoder": "pre-trained encoder (fused)", "encoder-untrained": "untrained twins",
           "opcode-histogram": "opcode histogram", "ir2vec-fa": "IR2Vec flow-aware",
           "runtime-only": "run-time inputs only"}
_FOLDER = re.compile(r"^k(\d+)(?:-twin(\d+))?$")


def _accuracies(folder: Path) -> dict[str, dict[str, float]]:
    """``"<task> <platform>" -> method -> leakage-free accuracy`` of one evaluation folder."""
    summary = json.loads((folder / "results" / "summary.json").read_text())
    out: dict[str, dict[str, float]] = {}
    for task, protocols in sorted(summary["results"].items()):
        for platform, methods in protocols.get("leakage-free", {}).items():
            out[f"{task} {platform}"] = {m: v["accuracy_mean"] for m, v in methods.items()
                                        if m in METHODS}
    return out


def collect_program_dims(root: Path) -> dict[str, Any]:
    """Reads every ``k<K>[-twin<S>]`` folder under ``root``: ``settings`` (accuracy columns),
    ``dims`` (K, 0 last), ``scores[method][setting]`` = one value per K (twins: a list over
    seeds per K).

    Raises:
        ValueError: no such folder with a summary.
    """
    found: dict[int, list[dict[str, dict[str, float]]]] = {}
    for folder in sorted(root.iterdir()):
        match = _FOLDER.match(folder.name)
        if match and (folder / "results" / "summary.json").is_file():
            scores = _accuracies(folder)
            if match.group(2) is not None:  # a folder of more twins adds only twins
                scores = {s: {m: v for m, v in methods.items() if m == "encoder-untrained"}
                          for s, methods in scores.items()}
            found.setdefault(int(match.group(1)), []).append(scores)
    if not found:
        raise ValueError(f"{root}: no k<K> folder with results/summary.json")
    dims = sorted(found, key=lambda k: (k == 0, k))
    settings = sorted({s for runs in found.values() for run in runs for s in run})
    scores: dict[str, dict[str, list]] = {m: {s: [] for s in settings} for m in METHODS}
    for k in dims:
        for method in METHODS:
            for setting in settings:
                values = [run[setting][method] for run in found[k]
                          if method in run.get(setting, {})]
                scores[method][setting].append(values)
    return {"dims": dims, "settings": settings, "scores": scores}


def _cell(values: list[float]) -> str:
    """One accuracy, or the mean ± sample std of several (twins at several seeds)."""
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{np.mean(values):.1f} ± {np.std(values, ddof=1):.1f}"


def _label(k: int) -> str:
    return "all" if k == 0 else str(k)


def program_dims_markdown(section: dict[str, Any]) -> str:
    """The RESULTS.md section: one row per (setting, method), one column per K."""
    dims = section["dims"]
    lines = ["## How many program dimensions the DevMap head can use", "",
             section.get("note", ""), "",
             "| setting (leakage-free) | method | " + " | ".join(f"K={_label(k)}" for k in dims)
             + " |", "|---|---|" + "---|" * len(dims)]
    for setting in section["settings"]:
        for method, label in METHODS.items():
            cells = [_cell(values) for values in section["scores"][method][setting]]
            if any(cell != "–" for cell in cells):
                lines.append(f"| {setting} | {label} | " + " | ".join(cells) + " |")
    if section.get("figure"):
        lines += ["", f"![DevMap leakage-free accuracy against K]({section['figure']})"]
    return "\n".join(lines) + "\n"


def program_dims_statements(section: dict[str, Any]) -> list[str]:
    """One Targets line: per setting, the encoder's best K against the twins at that K and
    the run-time inputs alone — what the head can make of each program representation."""
    if not section:
        return []
    dims, scores, parts = section["dims"], section["scores"], []
    for setting in section["settings"]:
        encoder = [np.mean(v) if v else np.nan for v in scores["encoder"][setting]]
        runtime = [v for values in scores["runtime-only"][setting] for v in values]
        if np.all(np.isnan(encoder)) or not runtime:
            continue
        best = int(np.nanargmax(encoder))
        twins = scores["encoder-untrained"][setting][best]
        all_dims = encoder[dims.index(0)] if 0 in dims else None
        other = max((np.mean(v) for m in ("opcode-histogram", "ir2vec-fa")
                     for v in [scores[m][setting][best]] if v), default=None)
        text = (f"{setting} encoder {encoder[best]:.1f} % at K={_label(dims[best])}"
                + (f" (all dimensions {all_dims:.1f})" if all_dims is not None else "")
                + (f", twins {_cell(twins)}" if twins else "")
                + (f", best baseline {other:.1f}" if other is not None else "")
                + f", run-time inputs alone {np.mean(runtime):.1f}")
        parts.append(text)
    if not parts:
        return []
    return ["**what limits DevMap leakage-free** (the head on the first K principal components "
            "of each program representation; How many program dimensions the DevMap head can "
            "use): " + "; ".join(parts) + "."]


def draw_program_dims(section: dict[str, Any], png: Path) -> Path:
    """One panel per setting: accuracy against K for each method (twins: mean and range)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dims, settings = section["dims"], section["settings"]
    columns = min(2, len(settings))
    rows = -(-len(settings) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.2 * rows), squeeze=False)
    x = np.arange(len(dims))
    for ax in axes.flat[len(settings):]:
        ax.set_visible(False)
    for ax, setting in zip(axes.flat, settings, strict=False):
        for method, label in METHODS.items():
            values = section["scores"][method][setting]
            if not any(values):
                continue
            means = np.array([np.mean(v) if v else np.nan for v in values])
            line, = ax.plot(x, means, marker="o", label=label,
                            linestyle="--" if method == "runtime-only" else "-")
            if method == "encoder-untrained" and max(len(v) for v in values) > 1:
                ax.fill_between(x, [min(v) for v in values], [max(v) for v in values],
                                color=line.get_color(), alpha=0.2)
        ax.set_title(f"{setting} (leakage-free)", fontsize=9)
        ax.set_xticks(x, [_label(k) for k in dims])
        ax.set_ylabel("accuracy %")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7, loc="upper right")
    fig.supxlabel("K: principal components of each program representation the head sees",
                  fontsize=9)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder holding the k<K>[-twin<S>] runs")
    parser.add_argument("--note", default="", help="what the table shows (under its title)")
    parser.add_argument("--report-dir", type=Path, default=None,
                        help="holds RESULTS.md and results/summary.json (without it the table "
                        "is only printed)")
    from .report_files import publish_section  # the report renders this module's table

    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"not a folder: {args.root}")
    try:
        section = collect_program_dims(args.root)
    except ValueError as error:
        parser.error(str(error))
    section["note"] = args.note
    if args.report_dir is not None:
        figure = draw_program_dims(section, args.report_dir / "results" / "program_dims.png")
        section["figure"] = str(figure.relative_to(args.report_dir))
    print(program_dims_markdown(section))
    if args.report_dir is not None:
        publish_section(args.report_dir, "program_dims", section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
