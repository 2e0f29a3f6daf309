"""Toolchain variants as positive pairs: one table, by arm, from what the diagnostics scored.

Run the cross-toolchain retrieval and the label-efficiency diagnostic (with
``--probe-dataset``) on the same packages, into a scratch report folder; this command reads
their sections there, groups their rows into arms (the runs of one recipe, the untrained
twins, a control feature set) and publishes one section (``toolchain_variants``): each arm's
mean with its range over runs, per column: optimisation-invariance MAP@R (from each row's
``mirencoder eval probes`` output, ``--probes ROW=probes.json``), cross-toolchain top-1 and
mean reciprocal rank, DevMap leakage-free at the full training share (four settings), and the
decision probe's "vectorised?" on source and on template folds.

    python -m mirencoder.training.evaluation.toolchain_study --scores /tmp/rep/results/summary.json \\
        --arm "toolchain variants=encoder|tc seed 0" --arm "clang-14 control=c14 s0|c14 s1" \\
        --arm "untrained twins=twin0|twin1|twin2" --arm "opcode histogram=opcode-histogram" \\
        --note "..." --report-dir .
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .report_files import show_and_publish
from .toolchain_study_table import (
    KEY,
    draw_toolchain_study,
    parse_arm,
    study_section,
    toolchain_study_markdown,
)


def _invariance(spec: str) -> tuple[str, float]:
    """``ROW=probes.json`` -> the row's invariance MAP@R (the probed model's fused output)."""
    row, sep, path = spec.partition("=")
    if not sep:
        raise ValueError(f"--probes {spec!r}: expected ROW=PATH/probes.json")
    methods = json.loads(Path(path).read_text())["retrieval"]["methods"]
    if "encoder" not in methods:
        raise ValueError(f"{path}: no encoder row in its retrieval probe ({sorted(methods)})")
    return row, float(methods["encoder"]["map_at_r"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scores", type=Path, required=True,
                        help="summary.json holding the diagnostics' sections")
    parser.add_argument("--arm", action="append", required=True, metavar="LABEL=ROW|ROW",
                        help="one arm: its label and the diagnostics' row names (repeatable)")
    parser.add_argument("--probes", nargs="+", action="extend", default=[],
                        metavar="ROW=PROBES_JSON",
                        help="a row's probes.json (mirencoder eval probes): its optimisation-"
                             "invariance MAP@R becomes the first column")
    parser.add_argument("--note", default="", help="what the table shows (under its title)")
    parser.add_argument("--report-dir", type=Path, default=None,
                        help="holds RESULTS.md and results/summary.json (without it the table "
                             "is only printed)")
    args = parser.parse_args(argv)
    try:
        arms = [parse_arm(text) for text in args.arm]
        invariance = dict(_invariance(spec) for spec in args.probes)
        section = study_section(json.loads(args.scores.read_text()), arms, args.note, invariance)
    except (ValueError, KeyError, OSError, json.JSONDecodeError) as error:
        parser.error(str(error))
    show_and_publish(args.report_dir, KEY, section, toolchain_study_markdown, draw_toolchain_study)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
