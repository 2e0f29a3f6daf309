"""Full-length pre-training runs side by side, each beside its own untrained twin: the probes'
headline scores and every leakage-free downstream protocol, from the folders that
``infra/evaluate_run.sh`` writes (``<folder>/probes/probes.json``,
``<folder>/devmap/results/summary.json``, ``<folder>/thread-coarsening/results/summary.json``)::

    python -m mirencoder.training.evaluation.record_runs runs/eval/record-2cpu-outcome \\
        runs/eval/record-2cpu-cuda --report-dir .

``--replicates "LABEL=run-a,run-b"`` names runs (config names) of one recipe that differ only
in the pre-training seed or hardware: their spread is shown beside the twins'.
Folders whose probes scored other programs than the report's recorded probe are refused
(``PROBE_SETTINGS=results/summary.json`` scores a run on that probe).
``--twin-seeds-from NAME`` gives folders scored without ``twin-seed*`` folders the twins
drawn at other seeds of the recorded run NAME, when the folder's own untrained twin (seed 0)
repeats NAME's on every score: the twins depend on the architecture and vocabularies only, so a
run of the same recipe on a later machine need not score them again.
``--keep-recorded`` keeps the runs the report already holds (``results/summary.json``) whose
folders are not given — runs scored in an earlier session or on another machine, whose
evaluation folders are gone — and replaces a recorded run by a folder of the same name; it
keeps the recorded ``--replicates`` groups too (one given again under its label replaces it).

merges the table into ``results/summary.json`` (key ``runs_of_record``) and RESULTS.md, with
a figure of each run beside its twins (``results/runs_of_record.png``), and pre-training's
effect pooled over the runs (each against its own twins; ``record_pooled.py``, figure
``results/pretraining_effect.png``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .ablation_table import load_json
from .record_pooled import draw_record_figures, record_section_markdown
from .record_table import collect_run, evaluations, merge_runs
from .report_files import add_report_dir_argument, recorded_section, show_and_publish

__all__ = ["main", "probe_sample", "other_probe_folders", "borrow_twin_seeds"]

TWIN_TOLERANCE = 1e-9
"""Largest difference between two scores of one untrained twin that counts as the same."""


def borrow_twin_seeds(run: dict, source: dict, tolerance: float = TWIN_TOLERANCE) -> dict:
    """``run`` with ``source``'s twins drawn at other seeds (and ``twin_seeds_from``: its name)
    when ``run`` has none of its own and both runs' seed-0 twins agree on every score.

    Raises:
        ValueError: the seed-0 twins differ (or one was not scored): not the same twins.
    """
    if run.get("twin_seeds"):
        return run
    mine = run["methods"].get("untrained twin") or {}
    theirs = source["methods"].get("untrained twin") or {}
    gaps = {k: abs(mine[k] - theirs[k]) for k in theirs
            if theirs[k] is not None and mine.get(k) is not None}
    differ = sorted(k for k in theirs.keys() | mine.keys()
                    if (mine.get(k) is None) != (theirs.get(k) is None)
                    or gaps.get(k, 0.0) > tolerance)
    if not any(v is not None for v in theirs.values()) or differ:
        raise ValueError(f"{run['name']}'s untrained twin does not repeat {source['name']}'s "
                         f"({', '.join(differ) or 'no scores'}) within {tolerance:g}: not the "
                         "same twins, or another CPU (--twin-tolerance); score them with "
                         "TWIN_SEEDS")
    return {**run, "twin_seeds": source["twin_seeds"], "twin_seeds_from": source["name"],
            "twin_seeds_check": {"tolerance": tolerance,
                                 "largest_difference": max(gaps.values(), default=0.0)}}


def probe_sample(probes: dict) -> dict:
    """What a probe scored (its decision programs and groups per corpus): two probes.json
    with different samples are not comparable, whatever their models."""
    counts = probes.get("decisions", {}).get("counts", {})
    return {key: counts[key] for key in ("programs", "groups") if counts.get(key)}


def other_probe_folders(folders: list[Path], recorded_probes: dict) -> list[str]:
    """The evaluation folders, and the twins drawn at other seeds inside them (``twin-seed*``,
    read into the table with them), whose probes scored other programs than the report's
    recorded probe (the one its runs of record were scored on); none where either sample is
    unknown."""
    recorded = probe_sample(recorded_probes)
    if not recorded:
        return []
    out = []
    for folder in folders:
        for scored in (folder, *sorted(folder.glob("twin-seed*"))):
            sample = probe_sample(load_json(scored / "probes" / "probes.json") or {})
            if sample and sample != recorded:
                out.append(f"{scored} ({sample} against the report's {recorded})")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="*",
                        help="evaluation folders written by infra/evaluate_run.sh")
    add_report_dir_argument(parser)
    parser.add_argument("--replicates", action="append", default=[], metavar="LABEL=A,B,...",
                        help="runs of one recipe (config names), shown as one spread")
    parser.add_argument("--keep-recorded", action="store_true",
                        help="keep the runs already in the report's table whose folders are "
                        "not given (needs --report-dir)")
    parser.add_argument("--twin-tolerance", type=float, default=TWIN_TOLERANCE,
                        help="largest difference between the two seed-0 twins' scores that "
                        "--twin-seeds-from accepts (default %(default)g; on another CPU a "
                        "DevMap head's ties can move a score by a fraction of a point); kept "
                        "in the run and stated in the table")
    parser.add_argument("--twin-seeds-from", default=None, metavar="NAME",
                        help="a recorded run whose twins drawn at other seeds the folders "
                        "without their own take, once their seed-0 twin repeats its scores "
                        "(needs --report-dir)")
    args = parser.parse_args(argv)
    missing = [str(f) for f in args.folders if not f.is_dir()]
    if missing:
        parser.error("not a folder: " + ", ".join(missing))
    unscored = [str(f) for f in args.folders if not any(evaluations(f))]
    if unscored:  # it became a row of dashes in the report
        parser.error("no scores (probes/, devmap/ or thread-coarsening/) in: "
                     + ", ".join(unscored) + "; score a run with infra/evaluate_run.sh")
    if args.report_dir is not None:
        other = other_probe_folders(args.folders, recorded_section(args.report_dir, "probes"))
        if other:
            parser.error("probes scored on other programs than the report's runs of record: "
                         + "; ".join(other) + ". Score them on the report's probe with "
                         "PROBE_SETTINGS=results/summary.json bash infra/evaluate_run.sh "
                         "(their probes/ folder removed first)")
    scored = [collect_run(folder) for folder in args.folders]
    if args.twin_seeds_from is not None:
        if args.report_dir is None:
            parser.error("--twin-seeds-from reads the report's table: give --report-dir")
        source = {run["name"]: run for run in recorded_section(
            args.report_dir, "runs_of_record").get("runs", [])}.get(args.twin_seeds_from)
        if source is None or not source.get("twin_seeds"):
            parser.error(f"--twin-seeds-from {args.twin_seeds_from}: no recorded run of that "
                         "name with twins drawn at other seeds")
        try:
            scored = [borrow_twin_seeds(run, source, args.twin_tolerance) for run in scored]
        except ValueError as error:
            parser.error(str(error))
    recorded: dict = {}
    if args.keep_recorded:
        if args.report_dir is None:
            parser.error("--keep-recorded reads the report's table: give --report-dir")
        recorded = recorded_section(args.report_dir, "runs_of_record")
        scored = merge_runs(recorded.get("runs", []), scored)
    if not scored:
        parser.error("no runs: give evaluation folders (or --keep-recorded with a report "
                     "that holds some)")
    runs: dict = {"runs": scored}
    if recorded.get("note"):  # what a reader was told of the recorded runs stays
        runs["note"] = recorded["note"]
    names = {run["name"] for run in runs["runs"]}
    for spec in args.replicates:
        label, _, members = spec.partition("=")
        group = [m for m in members.split(",") if m]
        if not label or len(group) < 2 or not set(group) <= names:
            parser.error(f"--replicates {spec!r}: LABEL=A,B,... with two or more of the runs "
                         f"given ({', '.join(sorted(names))})")
        runs.setdefault("replicates", []).append({"label": label, "names": group})
    given = {group["label"] for group in runs.get("replicates", [])}
    kept = [group for group in recorded.get("replicates", [])  # a label given replaces its own
            if group["label"] not in given and set(group["names"]) <= names]
    if kept:
        runs["replicates"] = kept + runs.get("replicates", [])
    show_and_publish(args.report_dir, "runs_of_record", runs, record_section_markdown,
                     draw_record_figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
