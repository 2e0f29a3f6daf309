"""Evaluation heads: folds one at a time against folds in threads (``n_jobs``).

The protocols' cross-validation (DevMap: both row sets, both platforms, the literature folds
at split seeds 104 and 204 and the leakage-free folds; thread coarsening: leave one row out
and leave one kernel out) is run by ``evaluate_devmap_rows`` / ``evaluate_coarsening_rows`` on
the same program features with ``n_jobs=1`` (one fold at a time, as before the threads) and
with ``n_jobs=0`` (one fold thread per usable CPU), the two runs alternating (``--repeats``,
best of each, every run listed). The results of the two settings must be identical (checked).
Features are computed once beforehand and are not timed: the controls that need no encoder,
and ``dense-128``, Gaussian vectors of an encoder's width (128) standing in for its output,
where the trees spend most of an evaluation's time; the figure is the heads' share of it.

Usage::

    python benchmarks/bench_eval_folds.py [--seeds 3] [--repeats 2] [--no-write]

Writes the ``eval-folds`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DATA = REPO.parent / "shared" / "data"
FEATURES = ("runtime-only", "program-size", "opcode-histogram", "loop-opcode-histogram",
            "memory-ops")
DENSE_WIDTH = 128


def with_dense(features: dict, programs: int) -> dict:
    """``features`` plus ``dense-128``: one Gaussian vector per program (seed 0)."""
    import numpy as np

    dense = np.random.default_rng(0).standard_normal((programs, DENSE_WIDTH))
    return {**features, f"dense-{DENSE_WIDTH}": dense}


def _timed(run, config) -> tuple[float, dict]:
    start = time.perf_counter()
    result = run(config)
    return time.perf_counter() - start, result


def bench_task(name: str, run, configs: dict[int, object], repeats: int, cvs: int) -> dict:
    """Times ``run(config)`` for each ``n_jobs`` setting, alternating; checks equal results."""
    runs: dict[int, list[float]] = {n: [] for n in configs}
    results: dict[int, dict] = {}
    for _ in range(repeats):
        for n_jobs, config in configs.items():
            seconds, results[n_jobs] = _timed(run, config)
            runs[n_jobs].append(seconds)
            print(f"{name}: n_jobs={n_jobs} {seconds:.1f} s", flush=True)
    one, many = (results[n] for n in configs)
    best_one, best_many = (min(runs[n]) for n in configs)
    return {"cvs": cvs, "s_one": best_one, "s_many": best_many, "speedup": best_one / best_many,
            "identical": one == many, "runs_one": runs[1], "runs_many": runs[0]}


def format_section(rows: dict[str, dict], workers: int, seeds: int) -> str:
    from benchmarks.report import runs_cell

    lines = [
        f"Features: {', '.join(FEATURES)} and dense-{DENSE_WIDTH} (Gaussian vectors of an "
        f"encoder's width; features computed once, not timed); {seeds} head seeds; "
        "XGBoost with the published settings, `tree_method=hist`, one thread per head. "
        f"`n_jobs=1`: one fold at a time; `n_jobs=0`: {workers} fold threads here (one per "
        "usable CPU). Runs alternating, best of each, seconds; every run listed.",
        "",
        f"| task | cross-validations (settings x seeds) | n_jobs=1 | n_jobs=0 ({workers} threads) | speed-up | "
        "same results | runs (1 / 0) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['cvs']} | {r['s_one']:.1f} | **{r['s_many']:.1f}** | "
            f"**{r['speedup']:.2f}x** | {'yes' if r['identical'] else '**NO**'} | "
            + runs_cell(r["runs_one"], r["runs_many"]) + " |")
    lines += ["", "XGBoost and its data preparation release the GIL, so fold threads run on "
              "separate cores; each fold's head is the same fresh single-threaded head as in "
              "one thread, which is why the results cannot differ (the table checks it). Heads "
              "that seed torch's global generator (`stacked`, fine-tuning) still train one "
              "fold at a time."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="head seeds (the protocol's 3)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if not (DATA / "devmap").exists() or not (DATA / "thread-coarsening").exists():
        print(f"bench_eval_folds: {DATA} lacks devmap/ or thread-coarsening/ (needs "
              "../shared/data)", file=sys.stderr)
        return 1
    from mirencoder.infra.cpus import available_cpus
    from mirencoder.training.evaluation.coarsening_data import load_thread_coarsening
    from mirencoder.training.evaluation.coarsening_eval import (
        CoarseningConfig,
        evaluate_coarsening_rows,
    )
    from mirencoder.training.evaluation.devmap_data import load_devmap
    from mirencoder.training.evaluation.devmap_eval import (
        DevMapConfig,
        devmap_protocol_keys,
        evaluate_devmap_rows,
        featurize_devmap,
    )
    from mirencoder.training.evaluation.feature_runs import featurize_programs
    from mirencoder.training.evaluation.features.registry import build_featurizer

    rows: dict[str, dict] = {}
    for row_set in ("669", "680"):
        configs = {n: DevMapConfig(data_dir=DATA, row_sets=(row_set,), seeds=args.seeds,
                                   n_jobs=n) for n in (1, 0)}
        data = load_devmap(row_set, DATA, configs[1].cache_dir)
        features, _ = featurize_devmap(data, [build_featurizer(f) for f in FEATURES],
                                       progress=False)
        features = with_dense(features, len(data.programs))
        cvs = len(devmap_protocol_keys(configs[1])) * len(configs[1].platforms) * len(features)
        rows[f"devmap-{row_set}"] = bench_task(
            f"devmap-{row_set}",
            lambda config, data=data, features=features: evaluate_devmap_rows(
                data, features, config, progress=False),
            configs, args.repeats, cvs * args.seeds)
    configs = {n: CoarseningConfig(data_dir=DATA, seeds=args.seeds, n_jobs=n) for n in (1, 0)}
    data = load_thread_coarsening(DATA, configs[1].cache_dir)
    features, _ = featurize_programs(data.programs, [build_featurizer(f) for f in FEATURES],
                                     progress=False)
    features = with_dense(features, len(data.programs))
    rows["thread-coarsening"] = bench_task(
        "thread-coarsening",
        lambda config: evaluate_coarsening_rows(data, features, config, progress=False),
        configs, args.repeats, len(configs[1].protocols) * len(features) * args.seeds)
    print(json.dumps(rows, indent=1))
    body = format_section(rows, available_cpus(), args.seeds)
    print(body)
    if not args.no_write:
        from benchmarks.report import write_section

        write_section("eval-folds", "Evaluation heads: fold threads (CPU)", body)
    return 0 if all(r["identical"] for r in rows.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
