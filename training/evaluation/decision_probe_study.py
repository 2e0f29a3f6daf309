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

``--append`` adds the arms to the section the report already holds (its arms keep their
recorded values, their folders need not exist; ``--twins`` may then name a recorded arm, and
``--note`` becomes a paragraph after the recorded note): how a later session adds arms.

A row ``FOLDER#METHOD`` reads another method of the folder (e.g. ``#encoder-graph``); every row
of an arm reads the same method, and an arm is measured against the ``--twins`` arm of its
method (none given: no comparison).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .decision_probe_table import (
    KEY,
    append_arms,
    arm_method,
    decision_probe_markdown,
    decision_section,
    draw_decision_probe,
)
from .report_files import recorded_section, show_and_publish
from .toolchain_study_table import parse_arm


def appended_section(report_dir: Path, arms: list[tuple[str, list[str]]], twins: list[str],
                     controls: str | None, note: str) -> dict[str, Any]:
    """The section recorded under ``report_dir`` with ``arms`` added (:func:`append_arms`);
    ``twins`` may name new or recorded arms.

    Raises:
        ValueError: nothing recorded, an unknown twins label, two twins arms of one method,
            or what :func:`append_arms` and :func:`decision_section` refuse.
    """
    recorded = recorded_section(report_dir, KEY)
    if not recorded:
        raise ValueError(f"{report_dir}: no recorded {KEY} section to append to")
    new_labels = {label for label, _ in arms}
    section = append_arms(recorded, decision_section(
        arms, [t for t in twins if t in new_labels], controls, note))
    section["twins"] = list(dict.fromkeys([*section["twins"], *twins]))
    methods = {a["label"]: arm_method(a["rows"]) for a in section["arms"]}
    unknown = [t for t in section["twins"] if t not in methods]
    if unknown:
        raise ValueError(f"--twins {unknown}: not an arm label")
    if len({methods[t] for t in section["twins"]}) < len(section["twins"]):
        raise ValueError("two twins arms read the same method")
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arm", action="append", required=True, metavar="LABEL=FOLDER|FOLDER",
                        help="one arm: its label and its runs' probe folders (repeatable)")
    parser.add_argument("--twins", action="append", default=[], metavar="LABEL",
                        help="an arm of untrained twins: every arm reading the same method "
                             "(output) is measured against it (repeatable, one per method; "
                             "with --append it may be a recorded arm)")
    parser.add_argument("--controls", default=None, metavar="FOLDER",
                        help="a probe folder holding the control rows (and the majority class)")
    parser.add_argument("--note", default="", help="what the tables show (under the title)")
    parser.add_argument("--report-dir", type=Path, default=None,
                        help="holds RESULTS.md and results/summary.json (without it the tables "
                             "are only printed)")
    parser.add_argument("--append", action="store_true",
                        help="add the arms to the section recorded under --report-dir")
    args = parser.parse_args(argv)
    if args.append and args.report_dir is None:
        parser.error("--append needs --report-dir (the report holding the recorded section)")
    try:
        arms = [parse_arm(text) for text in args.arm]
        if args.append:
            section = appended_section(args.report_dir, arms, args.twins, args.controls,
                                       args.note)
        else:
            if not args.twins:
                raise ValueError("--twins is required (the arm of untrained twins)")
            section = decision_section(arms, args.twins, args.controls, args.note)
    except (ValueError, KeyError, OSError) as error:
        parser.error(str(error))
    show_and_publish(args.report_dir, KEY, section, decision_probe_markdown,
                     draw_decision_probe)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
