"""IR2Vec timing on the 669 DevMap IR files (the peer that the encoder's embedding speed is
compared with): milliseconds per file, flow-aware and symbolic, in batched child processes.

Run: ``python -m benchmarks.bench_ir2vec [--data-dir ../shared/data]`` from the repository root. Writes the ``ir2vec``
section of BENCHMARKS.md. ``measure_ir2vec`` is importable for a side-by-side benchmark.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.report import write_section
from mirencoder.training.evaluation.devmap_data import load_devmap_669
from mirencoder.training.evaluation.features.ir2vec_vectors import (
    IR2VecFeaturizer,
    ir2vec_available,
)
from mirencoder.training.evaluation.paths import default_cache_dir, default_data_dir
from mirencoder.training.evaluation.programs import EvalProgram

__all__ = ["measure_ir2vec", "main"]


def measure_ir2vec(programs: Sequence[EvalProgram], mode: str = "fa",
                   batch_size: int = 1000) -> dict[str, float]:
    """Embeds ``programs`` with IR2Vec and times it (child-process start-up included, amortised
    over the batch).

    Returns:
        ``files``, ``failures``, ``seconds``, ``ms_per_file`` (wall) and ``cpu_ms_per_file``
        (the child processes' CPU time, less sensitive to a busy machine).
    """
    featurizer = IR2VecFeaturizer(mode, batch_size=batch_size)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    featurizer.featurize(list(programs))
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    n = max(1, len(programs))
    return {"files": len(programs), "failures": len(featurizer.errors), "seconds": seconds,
            "ms_per_file": 1000 * seconds / n, "cpu_ms_per_file": 1000 * cpu / n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if not ir2vec_available():
        print("ir2vec is not installed: pip install ir2vec==2.1.1")
        return 1
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as reported
    programs = load_devmap_669(args.data_dir, args.cache_dir).programs
    load_before = os.getloadavg()[0]
    rows = []
    for mode, label in (("fa", "flow-aware"), ("sym", "symbolic")):
        result = measure_ir2vec(programs, mode)
        rows.append(f"| IR2Vec 2.1.1 {label} | {result['files']} | {result['failures']} | "
                    f"{result['seconds']:.2f} | {result['ms_per_file']:.1f} | "
                    f"{result['cpu_ms_per_file']:.1f} |")
        print(rows[-1])
    body = ("IR2Vec program vectors of the 669 DevMap IR files (`lavaMD` repaired), one core, "
            "files batched through one child process per mode (IR2Vec exits the process on a "
            "parse error), start-up included; wall time and the child processes' CPU time "
            f"(load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on a "
            f"machine with {os.cpu_count()} cores).\n\n| Embedder | Files | Failures | Seconds | "
            "ms / file (wall) | CPU ms / file |\n| --- | --- | --- | --- | --- | --- |\n"
            + "\n".join(rows))
    if not args.no_write:
        print(f"wrote {write_section('ir2vec', 'IR2Vec embedding speed (peer)', body)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
