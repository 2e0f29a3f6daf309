"""Compiler decisions by arm: the decision probe's scores of many pre-trained runs, grouped into
arms beside their untrained twins and the controls, as one section (``decision_probe_arms``).

Probe each package first (``mirencoder eval probes --model PKG --untrained-model off --set
probes.controls= --dataset DATASET --out-dir FOLDER``; the same ``--dataset`` everywhere, so
that every folder holds the same programs) and the controls once (``--untrained-model off``
without ``--model``), then:

    python -m mirencoder.training.evaluation.decision_probe_study \\
        --arm "host control=runs/eval/dp/host2|runs/eval/dp/host3" \\
        --arm "untrained twins=runs/eval/dp/twin0|runs/eval/dp/twin1" --twins "untrained twins" \\
        --controls runs/eval/dp/controls --note "..." --report-dir .

A row ``FOLDER#METHOD`` reads another method of the folder (e.g. ``#encoder-graph``); every row
of an arm reads the same method, and an arm is measured against the ``--twins`` arm of its
method (none given: no comparison).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .decision_probe_table import (
    KEY,
    decision_probe_markdown,
    decision_section,
    draw_decision_probe,
)
from .report_files import show_and_publish
from .toolchain_study_table import parse_arm


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arm", action="append", required=True, metavar="LABEL=FOLDER|FOLDER",
                        help="one arm: its label and its runs' probe folders (repeatable)")
    parser.add_argument("--twins", action="append", required=True, metavar="LABEL",
                        help="an arm of untrained twins: every arm reading the same method "
                             "(output) is measured against it (repeatable, one per method)")
    parser.add_argument("--controls", default=None, metavar="FOLDER",
                        help="a probe folder holding the control rows (and the majority class)")
    parser.add_argument("--note", default="", help="what the tables show (under the title)")
    parser.add_argument("--report-dir", type=Path, default=None,
                        help="holds RESULTS.md and results/summary.json (without it the tables "
                             "are only printed)")
    args = parser.parse_args(argv)
    try:
        arms = [parse_arm(text) for text in args.arm]
        section = decision_section(arms, args.twins, args.controls, args.note)
    except (ValueError, KeyError, OSError) as error:
        parser.error(str(error))
    show_and_publish(args.report_dir, KEY, section, decision_probe_markdown,
                     draw_decision_probe)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
