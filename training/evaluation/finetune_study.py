"""Does pre-training show once the encoder is fine-tuned? DevMap leakage-free, encoder and twin
fine-tuned alike.

Each folder is one ``mirencoder eval devmap --protocols leakage-free --finetune --model M
--untrained-model T [--heads xgboost,mlp]`` run (folders may split the platforms or row sets
between them); more twins come as ``--twin-folders``, each run alone (``--model TWIN
--finetune``, same settings and fold seeds). The section sets the fine-tuned pair beside the
same encoders' frozen heads and the controls::

    python -m mirencoder.training.evaluation.finetune_study runs/eval/finetune/amd \\
        runs/eval/finetune/nvidia --twin-folders runs/eval/finetune/twin1/amd ... --report-dir .

Writes the table and a figure (``results/finetuning.png``) into ``results/summary.json`` (key
``finetuning``) and STUDIES.md (indexed in RESULTS.md). A study whose folders are gone can
still take a new twin:
``--recorded KEY...`` merges the sections already in ``results/summary.json`` with the folders
given, and the merged section replaces them (their figures deleted)::

    python -m mirencoder.training.evaluation.finetune_study --twin-folders NEW_TWIN/amd \
        --recorded finetuning-seed1 finetuning-seed1-669 --name seed1 --report-dir .
"""

from __future__ import annotations

import argparse
import re
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from .figures import save_figure
from .finetune_table import (
    PAIRS,
    collect_finetune,
    finetune_markdown,
    head_label,
    section_key,
    twin_scores,
    twin_values,
)
from .report_files import add_report_dir_argument, recorded_section, show_and_publish

__all__ = ["draw_finetune", "main"]


def draw_finetune(section: dict[str, Any], png: Path) -> Path:
    """One panel per setting: each head's accuracy on the pre-trained encoder (fold seeds as
    dots) and on its twins (one dot per twin, or the fold seeds of a single twin), with the
    run-time inputs alone dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings, scores = section["settings"], section["scores"]
    pairs = [p for p in PAIRS if p[1] in scores]
    columns = min(2, len(settings))
    rows = -(-len(settings) // columns)
    width = max(4.8, 0.95 * len(pairs))  # room for each pair's wrapped label
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, 3.2 * rows), squeeze=False)
    for ax in axes.flat[len(settings):]:
        ax.set_visible(False)
    x = np.arange(len(pairs))
    several = len(twin_scores(section)) > 1

    def values_of(index: int, pair: tuple[str, str, str], setting: str) -> list[float]:
        if index == 2:
            return twin_values(section, pair[2], setting)
        return scores.get(pair[1], {}).get(setting) or []

    twin_label = "untrained twins (one dot each)" if several else "untrained twin"
    for ax, setting in zip(axes.flat, settings, strict=False):
        for offset, (index, label, color) in zip((-0.15, 0.15), ((1, "pre-trained", "C0"),
                                                                  (2, twin_label, "C7")),
                                                 strict=True):
            for i, pair in enumerate(pairs):
                values = values_of(index, pair, setting)
                ax.scatter(np.full(len(values), x[i] + offset), values, color=color, s=14,
                           alpha=0.6)
                if values:
                    ax.bar(x[i] + offset, np.mean(values), width=0.28, color=color, alpha=0.35,
                           label=label if i == 0 else None)
        runtime = scores.get("runtime-only", {}).get(setting)
        if runtime:
            ax.axhline(np.mean(runtime), color="C3", linestyle="--", linewidth=1,
                       label="run-time inputs only (XGBoost)")
        ax.set_xticks(x, [textwrap.fill(head_label(section, p[0], p[1]).split(" (")[0], 13)
                          for p in pairs], fontsize=6.5)
        ax.set_title(f"{setting} (leakage-free)", fontsize=9)
        ax.set_ylabel("accuracy %")
        low = min((v for p in pairs for i in (1, 2) for v in values_of(i, p, setting)),
                  default=50.0)
        ax.set_ylim(max(0.0, low - 5), 100)
        ax.grid(axis="y", alpha=0.3)
    axes.flat[0].legend(fontsize=7, loc="upper right")
    return save_figure(fig, png)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="*",
                        help="`mirencoder eval devmap --finetune` output folders")
    parser.add_argument("--twin-folders", type=Path, nargs="*", default=[],
                        help="more twins: `eval devmap --finetune --model TWIN` output folders "
                        "(same settings and fold seeds)")
    parser.add_argument("--note", default="", help="what the table shows (under its title)")
    parser.add_argument("--name", default="",
                        help="another pre-training run's study, beside the first: its own "
                        "section (and figure), titled and keyed by NAME (letters, digits, -)")
    parser.add_argument("--recorded", nargs="+", action="extend", default=[], metavar="KEY",
                        help="studies already in the report's results/summary.json (keys, e.g. "
                        "finetuning-seed1) to merge with the folders, whose folders may be gone;"
                        " the merged section replaces them (needs --report-dir)")
    add_report_dir_argument(parser)
    args = parser.parse_args(argv)
    if args.name and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", args.name):
        parser.error(f"--name {args.name!r}: use letters, digits and '-'")
    if args.recorded and args.report_dir is None:
        parser.error("--recorded reads the report's results/summary.json: give --report-dir")
    recorded = []
    for key in args.recorded:
        section = recorded_section(args.report_dir, key)
        if not section.get("scores"):
            parser.error(f"--recorded {key}: no such fine-tuning study in "
                         f"{args.report_dir / 'results' / 'summary.json'}")
        recorded.append(section)
    try:
        section = collect_finetune(args.folders, args.twin_folders, recorded)
    except ValueError as error:
        parser.error(str(error))
    section["note"] = args.note
    if args.name:
        section["name"] = args.name
    show_and_publish(args.report_dir, section_key(args.name), section, finetune_markdown,
                     draw_finetune, drop=args.recorded)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
