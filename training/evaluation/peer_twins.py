"""Does the field's pre-trained embedding beat its own untrained twin?

IR2Vec's program vectors aggregate one learned vector per IR entity (its seed vocabulary,
trained with TransE by its authors) along the program's flow. Its untrained twins keep the
aggregation and draw the vocabulary at random (``features/ir2vec_vocab.py``: the same
entities and norms, random directions). Scored with every protocol of the report --
``mirencoder eval devmap`` and ``mirencoder eval thread-coarsening`` with ``--features
ir2vec-fa,ir2vec-fa@DIR0,...`` -- this sets the released vocabulary beside its twins on the
same rows, folds and heads, and beside the published number::

    python -m mirencoder.training.evaluation.peer_twins runs/eval/ir2vec-twins-devmap \\
        runs/eval/ir2vec-twins-tc --base ir2vec-fa --report-dir .

Writes ``results/summary.json`` (key ``peer_twins``), its STUDIES.md section, a Targets line
and a figure (``results/peer_twins.png``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .peer_twins_table import collect_peer_rows, draw_peer_twins, peer_twins_markdown
from .report_files import add_report_dir_argument, show_and_publish

__all__ = ["KEY", "main"]

KEY = "peer_twins"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("evaluations", type=Path, nargs="+",
                        help="evaluation folders (`mirencoder eval ... --out-dir`) that scored "
                        "the base feature set and its twins (BASE@DIR)")
    parser.add_argument("--base", default="ir2vec-fa",
                        help="the pre-trained feature set (its twins: BASE@DIR rows)")
    parser.add_argument("--note", default="", help="what the table shows (under its title)")
    add_report_dir_argument(parser)
    args = parser.parse_args(argv)
    summaries = []
    for folder in args.evaluations:
        path = folder / "results" / "summary.json"
        if not path.is_file():
            parser.error(f"{folder}: no results/summary.json (an evaluation's --out-dir)")
        summaries.append(json.loads(path.read_text()))
    try:
        section: dict[str, Any] = collect_peer_rows(summaries, args.base)
    except ValueError as error:
        parser.error(str(error))
    section["folders"] = [str(f) for f in args.evaluations]
    section["note"] = args.note
    show_and_publish(args.report_dir, KEY, section, peer_twins_markdown, draw_peer_twins)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
