"""Learning curves: how a pre-training run's scores move with its steps, against its twins.

Reads the folder ``infra/learning_curve.sh`` completes: the run's evaluation folder from
``infra/evaluate_run.sh`` (the final encoder and its seed-0 twin, ``twin-seed<N>/`` for the
other twins) plus ``curve/step-<N>/`` (each kept checkpoint's encoder, scored as the model)::

    python -m mirencoder.training.evaluation.learning_curve \\
        runs/eval/record-2cpu-residual-spread-no-gae --report-dir .

Step 0 is the untrained twin at seed 0 (random weights, as before the first step); the
twins drawn at other seeds give the band a pre-trained score must leave. The table and a figure
(``results/learning_curve.png``) go into ``results/summary.json`` (key ``learning_curve``,
one entry per run, a run scored again replaces its entry) and STUDIES.md (indexed in RESULTS.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .learning_curve_plot import draw_learning_curves
from .learning_curve_table import collect_curve, curve_markdown
from .record_table import merge_runs
from .report_files import add_report_dir_argument, recorded_section, show_and_publish

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+",
                        help="evaluation folders completed by infra/learning_curve.sh")
    add_report_dir_argument(parser)
    args = parser.parse_args(argv)
    missing = [str(f) for f in args.folders if not f.is_dir()]
    if missing:
        parser.error("not a folder: " + ", ".join(missing))
    try:
        scored = [collect_curve(folder) for folder in args.folders]
    except ValueError as error:
        parser.error(str(error))
    curves: dict[str, Any] = {"runs": scored}
    if args.report_dir is not None:
        curves["runs"] = merge_runs(
            recorded_section(args.report_dir, "learning_curve").get("runs", []), scored)
    show_and_publish(args.report_dir, "learning_curve", curves, curve_markdown,
                     draw_learning_curves)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
