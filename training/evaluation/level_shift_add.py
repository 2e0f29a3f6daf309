"""Adds encoder packages as rows to a recorded level-shift section without rescoring the rest.

A level-shift section (``level_shift``, ``level_shift_graph``, ``..._decisions``) scores a
dozen packages, its twins and the controls together; the run folders of earlier sessions rarely
survive on a later machine, so a new run could not join the table. Every row is a deterministic
function of its package, the data and the section's seeds (one-thread embeddings, seeded folds
and heads), so a new package's rows can be computed alone and merged: same levels, pairs,
platforms, seeds and output, the same kernels (coverage) or decision programs (counts).

Before merging, ``--check NAME=PACKAGE`` rescores a row the section already holds (an untrained
twin, which ``mirencoder pretrain twin --seed N`` recreates anywhere) and refuses to publish
when its scores differ from the recorded ones: the recorded rows were made under conditions
this machine does not repeat, and the whole section must be rerun instead::

    python -m mirencoder.training.evaluation.level_shift_add level_shift \\
        new-run=runs/pretrain/NAME/encoder --check twin0=runs/twins/twin0 \\
        --data-dir ../shared/data --jobs 2 --report-dir .
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from .devmap_sweep import run_in_workers
from .level_shift import (
    decision_features,
    decision_shift_scores,
    featurize_levels,
    level_retrieval,
    score_shift,
    shift_jobs,
)
from .level_shift_table import draw_level_shift, level_shift_markdown
from .package_features import package_featurizers, split_named_package
from .paths import default_data_dir
from .report_files import add_report_dir_argument, recorded_section, show_and_publish

__all__ = ["parse_rows", "merge_rows", "check_rows", "largest_difference", "main"]

TOLERANCE = 1e-6
"""Largest difference (points or precision) between a rescored and a recorded cell."""


def parse_rows(items: list[str], section: dict[str, Any], *, replace: bool = False
               ) -> dict[str, str]:
    """``NAME=PACKAGE`` items -> ``name -> package``.

    Raises:
        ValueError: a malformed item, a repeated name, or a name the section holds already
            (unless ``replace``; the twins' and the controls' names never).
    """
    taken = {*section.get("packages", {}), *section.get("controls", [])}
    protected = {*section.get("twins", []), "encoder",
                 *(c for c in section.get("controls", []) if c not in section.get("labels", {}))}
    rows: dict[str, str] = {}
    for item in items:
        name, path = split_named_package(item)
        if name in rows:
            raise ValueError(f"{item!r}: the name {name!r} is given twice")
        if name in protected or (name in taken and not replace):
            raise ValueError(f"{item!r}: the section already has a row {name!r}"
                             + ("" if name in protected else " (--replace to rescore it)"))
        rows[name] = path
    return rows


def _cells(section: dict[str, Any], name: str) -> dict[str, Any]:
    """Every recorded number of row ``name``: ``(pair, setting) -> per-seed scores`` and
    ``retrieval`` (DevMap sections)."""
    cells: dict[str, Any] = {f"{pair} | {setting}": per[name]
                             for pair, settings in section.get("scores", {}).items()
                             for setting, per in settings.items() if name in per}
    if name in section.get("retrieval", {}):
        cells["retrieval"] = section["retrieval"][name]["pairs"]
    return cells


def _as_array(value: Any) -> np.ndarray:
    return np.asarray(list(value.values()) if isinstance(value, dict) else value, float)


def _compared_cells(recorded: dict[str, Any], rescored: dict[str, Any], names: list[str]):
    """``(name, cell key, recorded array, rescored array or None)`` for every recorded cell of
    rows ``names``; the rescored array is None where it is missing or of another shape."""
    for name in names:
        got = _cells(rescored, name)
        for key, value in _cells(recorded, name).items():
            a = _as_array(value)
            b = _as_array(got[key]) if key in got else None
            yield name, key, a, (b if b is not None and b.shape == a.shape else None)


def largest_difference(recorded: dict[str, Any], rescored: dict[str, Any],
                       names: list[str]) -> float:
    """The largest absolute difference over every cell of rows ``names`` present in both
    (per-seed points, or precision@1 as a fraction)."""
    return max((float(np.nanmax(np.abs(a - b), initial=0))
                for _, _, a, b in _compared_cells(recorded, rescored, names) if b is not None),
               default=0.0)


def check_rows(recorded: dict[str, Any], rescored: dict[str, Any], names: list[str],
               tolerance: float = TOLERANCE) -> list[str]:
    """The cells of rows ``names`` where ``rescored`` differs from ``recorded`` by more than
    ``tolerance`` (or is missing); empty when they repeat."""
    problems = [f"{name}: the section holds no such row" for name in names
                if not _cells(recorded, name)]
    for name, key, a, b in _compared_cells(recorded, rescored, names):
        if b is None or np.nanmax(np.abs(a - b), initial=0) > tolerance:
            problems.append(f"{name} {key}: recorded {np.round(a, 4).tolist()}, rescored "
                            f"{None if b is None else np.round(b, 4).tolist()}")
    return problems


def merge_rows(section: dict[str, Any], new: dict[str, Any], packages: dict[str, str]
               ) -> dict[str, Any]:
    """The section with the rows of ``packages`` (name -> folder) taken from ``new`` (scores
    and, for DevMap sections, retrieval): listed after the recorded extras, labelled as the
    level-shift command labels its ``--also`` rows. ``section`` is not changed."""
    out = {**section, "packages": {**section.get("packages", {}), **packages},
           "labels": {**section.get("labels", {}),
                      **{name: f"pre-trained encoder, {name}" for name in packages}},
           "controls": [*(c for c in section.get("controls", []) if c not in packages),
                        *packages]}
    out["scores"] = {pair: {setting: {**per, **{n: new["scores"][pair][setting][n]
                                                 for n in packages}}
                            for setting, per in settings.items()}
                     for pair, settings in section["scores"].items()}
    if "retrieval" in section:
        out["retrieval"] = {**section["retrieval"],
                            **{n: new["retrieval"][n] for n in packages}}
    return out


def _check_same(what: str, recorded: Any, here: Any) -> None:
    if recorded != here:
        raise ValueError(f"{what} here ({here}) differ from the recorded section's ({recorded}):"
                         " its rows are not comparable; rerun the whole section")


def score_devmap_rows(section: dict[str, Any], packages: dict[str, str], data_dir: Path,
                      jobs: int) -> dict[str, Any]:
    """``scores`` and ``retrieval`` of ``packages`` on a DevMap section's levels, pairs,
    platforms and seeds; refuses other kernels than the section's."""
    featurizers = package_featurizers(packages, section["embedding"])
    data, features, coverage = featurize_levels(section["levels"], featurizers, data_dir)
    _check_same("kernels and rows", section.get("coverage"), coverage)
    in_use = sorted({int(p) for table in data.tables.values() for p in table["program"]})
    platforms = sorted({s.rsplit(" ", 1)[1] for s in section["settings"]})
    done = run_in_workers(shift_jobs(data, features, section["fractions"], section["pairs"],
                                     platforms, section["seeds"]),
                          score_shift, jobs, "level shift")
    return {"scores": done, "retrieval": level_retrieval(features, in_use)}


def score_decision_rows(section: dict[str, Any], packages: dict[str, str],
                        probe_dataset: Path) -> dict[str, Any]:
    """``scores`` of ``packages`` on a decision section's held-out programs, levels and seeds;
    refuses other programs than the section's."""
    from .probes.config import ProbeConfig
    from .probes.data import prepare_probe_programs

    config = ProbeConfig(dataset=probe_dataset, controls=(), fold_repeats=section["seeds"],
                         untrained_model="", decision_test_level=section["levels"][1])
    decisions = prepare_probe_programs(config).decisions
    for key in ("programs", "groups"):
        _check_same(f"decision {key}", section.get("counts", {}).get(key),
                    decisions.counts.get(key))
    train, test = decision_features(package_featurizers(packages, section["embedding"]),
                                    decisions)
    return {"scores": decision_shift_scores(train, test, decisions, config)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("section", help="the recorded section's key in results/summary.json "
                        "(level_shift, level_shift_graph, level_shift_decisions, ...)")
    parser.add_argument("rows", nargs="*", metavar="NAME=PACKAGE",
                        help="encoder packages to add as rows")
    parser.add_argument("--check", nargs="+", action="extend", default=[], required=True,
                        metavar="NAME=PACKAGE",
                        help="rows the section holds, rescored here and compared before "
                        "anything is published (e.g. twin0=runs/twins/twin0)")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE,
                        help="largest difference a checked cell may show, in points per fold "
                        "seed (and precision@1 fraction): default %(default)g, bitwise; on "
                        "another CPU the head's ties can move one kernel (100/496 = 0.2 "
                        "points); what was allowed and seen is recorded in the section")
    parser.add_argument("--replace", action="store_true",
                        help="rescore rows the section already holds under the given names")
    parser.add_argument("--probe-dataset", type=Path, default=None,
                        help="the pre-training dataset whose held-out programs a decision "
                        "section scored (needed for *_decisions sections)")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--jobs", type=int, default=1, help="processes (one per job)")
    parser.add_argument("--note", default=None,
                        help="the section's new note (default: the recorded note, unchanged)")
    parser.add_argument("--from-report", type=Path, default=Path("."),
                        help="where the recorded section is read (default: .)")
    add_report_dir_argument(parser)
    args = parser.parse_args(argv)
    section = recorded_section(args.from_report, args.section)
    if not section.get("scores"):
        parser.error(f"{args.from_report / 'results' / 'summary.json'} holds no section "
                     f"{args.section!r} to add rows to")
    decisions = section.get("kind") == "decisions"
    if decisions and args.probe_dataset is None:
        parser.error(f"{args.section} is a decision section: give --probe-dataset")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    try:
        rows = parse_rows(args.rows, section, replace=args.replace)
        checks = {}
        for item in args.check:
            name, path = split_named_package(item, "--check")
            if name not in section.get("packages", {}):
                raise ValueError(f"--check {item!r}: expected NAME=PACKAGE with a NAME the "
                                 "section holds")
            checks[name] = path
        if set(checks) & set(rows):
            raise ValueError("a name is both checked and added")
    except ValueError as error:
        parser.error(str(error))
    start = time.perf_counter()
    packages = {**checks, **rows}
    try:
        new = (score_decision_rows(section, packages, args.probe_dataset) if decisions else
               score_devmap_rows(section, packages, args.data_dir or Path(default_data_dir()),
                                 args.jobs))
    except ValueError as error:
        parser.error(str(error))
    problems = check_rows(section, new, list(checks), args.tolerance)
    seen = largest_difference(section, new, list(checks))
    if problems:
        print(f"the checked rows do not repeat the recorded section to {args.tolerance:g} "
              f"(largest difference {seen:.4g}; nothing published):")
        print("\n".join(f"  {p}" for p in problems))
        return 1
    print(f"checked: {', '.join(checks)} repeat the recorded section to {args.tolerance:g} "
          f"(largest difference {seen:.4g})")
    if not rows:
        return 0
    merged = merge_rows(section, new, rows)
    merged["added"] = [*section.get("added", []), {
        "rows": list(rows), "checked": list(checks), "tolerance": args.tolerance,
        "largest_difference": seen, "seconds": round(time.perf_counter() - start, 1)}]
    if args.note is not None:
        merged["note"] = args.note
    show_and_publish(args.report_dir, args.section, merged, level_shift_markdown,
                     draw_level_shift)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
