"""What the DevMap diagnostics that set a pre-trained encoder beside its untrained twins share
(``stacked_sweep.py``, ``label_efficiency.py``, ``toolchain_retrieval.py``): their command-line
rows (encoder, twins, extra packages, controls), and the sweep that scores every row set and
platform at several values of one setting in worker processes."""

from __future__ import annotations

import argparse
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..core.model_config import ENCODER_OUTPUTS
from .devmap_data import DevMapData
from .package_features import featurize_packages, named_packages
from .paths import default_data_dir
from .report_files import add_report_dir_argument

__all__ = ["DiagnosticRows", "add_rows_arguments", "rows_from_args", "add_sweep_arguments",
           "check_sweep_arguments", "add_probe_arguments", "check_probe_arguments",
           "run_in_workers", "run_devmap_sweep", "sweep_settings"]


@dataclass(frozen=True, slots=True)
class DiagnosticRows:
    """The representations a diagnostic scores."""

    packages: dict[str, str]
    """``name -> package folder``: ``encoder``, ``twin<i>``, then the extras."""
    twins: list[str]
    extras: list[str]
    """More encoder packages (e.g. earlier checkpoints), shown beside the controls."""
    controls: list[str]
    data_dir: Path
    embedding: str = "fused"
    """Which output of every package (the encoder, its twins, the extras) is scored."""

    def section(self, extras_first: bool = False) -> dict[str, Any]:
        """The section keys every diagnostic's table reads: ``twins``, ``controls`` (the
        controls and the extras), ``labels`` (the extras' row names), ``packages``."""
        others = [*self.extras, *self.controls] if extras_first else [*self.controls,
                                                                      *self.extras]
        return {"twins": self.twins, "controls": others,
                "labels": {name: f"pre-trained encoder, {name}" for name in self.extras},
                "packages": self.packages}


def add_rows_arguments(parser: argparse.ArgumentParser, controls: str,
                       controls_help: str = "control feature sets (comma-separated)") -> None:
    """The encoder package, ``--twins``, ``--also``, ``--controls``, ``--data-dir``, ``--note``
    and ``--report-dir``."""
    parser.add_argument("model", type=Path, help="the pre-trained encoder package")
    parser.add_argument("--twins", type=Path, nargs="+", action="extend", required=True,
                        help="its untrained twins' packages (`mirencoder pretrain twin`)")
    parser.add_argument("--also", nargs="+", action="extend", default=[],
                        metavar="NAME=PACKAGE",
                        help="more encoder packages as rows beside the controls (e.g. the run's "
                        "earlier checkpoints, `mirencoder pretrain export`: step250=DIR)")
    parser.add_argument("--controls", default=controls, help=controls_help)
    parser.add_argument("--embedding", choices=ENCODER_OUTPUTS, default="fused",
                        help="the output of every package scored (the twins' too): fused (what "
                        "consumers get by default), tokens or graph")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--note", default="", help="what the table shows (under its title)")
    add_report_dir_argument(parser)


def rows_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace
                   ) -> DiagnosticRows:
    """The rows of :func:`add_rows_arguments`; a bad package or name ends with the parser's
    error, which names it."""
    from .features.registry import build_featurizer

    try:
        packages, twins, extras = named_packages(args.model, args.twins, args.also)
        for control in (c for c in args.controls.split(",") if c):
            build_featurizer(control)  # a bad name fails here, before any embedding
    except ValueError as error:
        parser.error(str(error))
    return DiagnosticRows(packages=packages, twins=twins, extras=extras,
                          controls=[c for c in args.controls.split(",") if c],
                          data_dir=args.data_dir or Path(default_data_dir()),
                          embedding=args.embedding)


def add_sweep_arguments(parser: argparse.ArgumentParser, seeds: int, seeds_help: str) -> None:
    """``--row-sets``, ``--platforms``, ``--seeds`` and ``--jobs``."""
    parser.add_argument("--row-sets", default="669,680")
    parser.add_argument("--platforms", default="amd,nvidia")
    parser.add_argument("--seeds", type=int, default=seeds, help=seeds_help)
    parser.add_argument("--jobs", type=int, default=1, help="processes (one per job)")


def check_sweep_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace,
                          max_seeds: int) -> None:
    """Ends with the parser's error when ``--seeds`` or ``--jobs`` is out of range."""
    if not 1 <= args.seeds <= max_seeds or args.jobs < 1:
        parser.error(f"--seeds must be in [1, {max_seeds}] and --jobs at least 1")


Score = Callable[[DevMapData, dict[str, np.ndarray], str, Any, int], dict[str, list[float]]]
"""``(data, features, platform, value, seeds) -> feature set -> accuracy % per fold seed``; a
module-level function (worker processes import it)."""


def run_in_workers(jobs: list[tuple[str, str, tuple]], score: Callable[..., Any], workers: int,
                   desc: str) -> dict[str, dict[str, Any]]:
    """``score(*args)`` of every ``(label, setting, args)`` job in ``workers`` spawned
    processes: ``label -> setting -> result``."""
    results: dict[str, dict[str, Any]] = {}
    # spawn: a forked worker inherits the parent's torch thread pool (used to embed) and hangs
    with ProcessPoolExecutor(max_workers=workers,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        pending = {pool.submit(score, *job): (label, setting) for label, setting, job in jobs}
        for future in tqdm(as_completed(pending), total=len(pending), desc=desc, unit="job"):
            label, setting = pending[future]
            results.setdefault(label, {})[setting] = future.result()
    return results


def add_probe_arguments(parser: argparse.ArgumentParser, probe_help: str) -> None:
    """``--probe-dataset`` (the decision probe's held-out programs; ``probe_help`` says what
    is scored on them) and ``--skip-devmap``; check them with :func:`check_probe_arguments`."""
    parser.add_argument("--probe-dataset", type=Path, default=None, help=probe_help)
    parser.add_argument("--skip-devmap", action="store_true",
                        help="only the decision probe (needs --probe-dataset)")


def check_probe_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Ends with the parser's error when ``--skip-devmap`` comes without ``--probe-dataset``."""
    if args.skip_devmap and args.probe_dataset is None:
        parser.error("--skip-devmap needs --probe-dataset")


def sweep_settings(args: argparse.Namespace) -> list[str]:
    """The settings :func:`run_devmap_sweep` scores for ``args.row_sets`` and
    ``args.platforms`` (``"devmap-<rows> <platform>"``, sorted), known before any is scored."""
    return sorted(f"devmap-{r} {p}" for r in args.row_sets.split(",") if r
                  for p in args.platforms.split(",") if p)


def run_devmap_sweep(rows: DiagnosticRows, args: argparse.Namespace, values: dict[str, Any],
                     score: Score, desc: str) -> tuple[list[str], dict[str, Any]]:
    """Scores every row set and platform (``args.row_sets``, ``args.platforms``) at every
    ``label -> value`` with ``score``, ``args.jobs`` processes at a time.

    Returns:
        The settings (``"<task> <platform>"``, sorted) and ``scores[label][setting][feature
        set]`` = accuracy % per fold seed.
    """
    scores: dict[str, dict[str, dict[str, list[float]]]] = {label: {} for label in values}
    jobs = []
    for row_set in (r for r in args.row_sets.split(",") if r):
        data, features = featurize_packages(row_set, rows.packages, rows.controls,
                                            rows.data_dir, embedding=rows.embedding)
        # each job carries its platform's rows only (the programs stay here)
        jobs += [(label, f"{data.name} {p}",
                  (DevMapData(name=data.name, programs=[], tables={p: data.tables[p]}),
                   features, p, value, args.seeds))
                 for p in (p for p in args.platforms.split(",") if p)
                 for label, value in values.items()]
    for label, per_setting in run_in_workers(jobs, score, args.jobs, desc).items():
        scores[label].update(per_setting)
    settings = sorted({s for per in scores.values() for s in per})
    return settings, {label: {s: per[s] for s in settings if s in per}
                      for label, per in scores.items()}
