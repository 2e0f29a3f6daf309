"""Merges the objective ablations into ``results/summary.json`` (key ``ablations``) and
RESULTS.md (section "Ablations")::

    python -m mirencoder.training.evaluation.ablations runs/ablations/record-2cpu --report-dir .

``infra/ablations.sh`` runs the short pre-training runs and their evaluations first.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .ablation_table import ablations_markdown, collect_ablations
from .report_files import add_report_dir_argument, show_and_publish

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder of the ablation runs")
    add_report_dir_argument(parser)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--config", default="")
    parser.add_argument("--windows", default="", help="the evaluations' token-window policy "
                        "('': the embedder's default, first)")
    parser.add_argument("--max-windows", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"{args.root} is not a folder")
    ablations = collect_ablations(args.root)
    ablations["meta"] = {"steps": args.steps, "config": args.config, "windows": args.windows,
                         "max_windows": args.max_windows}
    show_and_publish(args.report_dir, "ablations", ablations, ablations_markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
