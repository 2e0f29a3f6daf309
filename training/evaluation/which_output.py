"""Which output for which use: every output (``fused``, ``tokens``, ``graph``, ``joint``) of
several pre-trained runs beside the same output of their untrained twins, from folders that
``infra/evaluate_outputs.sh`` scored::

    python -m mirencoder.training.evaluation.which_output \\
        --group "pre-trained=runs/eval/outputs/v3,runs/eval/outputs/v9" \\
        --group "untrained twins=runs/eval/outputs/twin0,runs/eval/outputs/twin1" \\
        --label "the champion's recipe" --report-dir .

merges the table into ``results/summary.json`` (key ``which_output``, one study per
``--label``: a rerun with the same label replaces that study, another label adds one) and
STUDIES.md (indexed in RESULTS.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .output_table import collect_outputs, outputs_markdown, studies
from .report_files import add_report_dir_argument, publish_section, recorded_section

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", action="append", required=True, metavar="LABEL=A,B,...",
                        help="a group of scored folders (the first: the pre-trained runs; the "
                        "second: their untrained twins)")
    parser.add_argument("--label", default="Pre-trained runs",
                        help="what the pre-trained runs are (names the study in the report)")
    parser.add_argument("--note", default="", help="what the table shows, in a sentence or "
                        "two (printed under it)")
    add_report_dir_argument(parser)
    args = parser.parse_args(argv)
    groups: dict[str, list[Path]] = {}
    for spec in args.group:
        label, _, members = spec.partition("=")
        folders = [Path(m) for m in members.split(",") if m]
        missing = [str(f) for f in folders if not (f / "probes" / "probes.json").is_file()]
        if not label or not folders or missing:
            parser.error(f"--group {spec!r}: LABEL=A,B,... of folders scored by "
                         "infra/evaluate_outputs.sh" + (f"; not scored: {', '.join(missing)}"
                                                        if missing else ""))
        groups[label] = folders
    table = collect_outputs(groups)
    table["label"] = args.label
    table["note"] = args.note
    print(outputs_markdown({"studies": {args.label: table}}))
    if args.report_dir is not None:
        section = {"studies": {**studies(recorded_section(args.report_dir, "which_output")),
                               args.label: table}}
        publish_section(args.report_dir, "which_output", section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
