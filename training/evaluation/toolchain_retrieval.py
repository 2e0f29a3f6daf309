"""Does pre-training's invariance carry to a real toolchain change? Cross-toolchain retrieval
on the DevMap kernels, frozen.

A diagnostic, not a protocol. The 196 OpenCL kernels of both DevMap row sets exist twice: as
IR2Vec's ready IR (the 669 rows, another LLVM and other flags) and as compiled here (the 680
rows: clang 14, -O2, spir64, like the pre-training corpus). Each kernel's one version is the
query, the other versions of all kernels the candidates (cosine), both directions: top-1
accuracy and mean reciprocal rank of the kernel's own other version (ties share their ranks).
Pre-training contrasts one source's -O0..-Oz variants; this asks whether that invariance holds
across toolchains on GPU kernels it never saw, beside its untrained twins and the controls::

    python -m mirencoder.training.evaluation.toolchain_retrieval runs/pretrain/NAME/encoder \\
        --twins runs/pretrain/NAME/twin0 runs/pretrain/NAME/twin1 --report-dir .

Writes the table and a figure (``results/toolchain_retrieval.png``) into
``results/summary.json`` (key ``toolchain_retrieval``) and STUDIES.md (indexed in RESULTS.md).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from .devmap_data import DevMapData
from .devmap_sweep import add_rows_arguments, rows_from_args
from .package_features import featurize_packages
from .report_files import show_and_publish
from .toolchain_retrieval_table import (
    cross_retrieval,
    draw_toolchain_retrieval,
    toolchain_markdown,
)

__all__ = ["kernel_pairs", "main"]


def kernel_pairs(first: DevMapData, second: DevMapData) -> tuple[list[str], np.ndarray,
                                                                  np.ndarray]:
    """The kernels of both row sets (sorted) with each one's program index in either (the
    lowest when a kernel has several programs)."""
    def index(data: DevMapData) -> dict[str, int]:
        table = next(iter(data.tables.values()))
        return table.groupby("benchmark")["program"].min().to_dict()

    a, b = index(first), index(second)
    kernels = sorted(set(a) & set(b))
    return kernels, np.array([a[k] for k in kernels]), np.array([b[k] for k in kernels])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_rows_arguments(parser, controls="opcode-histogram,loop-opcode-histogram",
                       controls_help="control feature sets (comma-separated; one column has "
                       "no cosine to rank by)")
    args = parser.parse_args(argv)
    rows = rows_from_args(parser, args)
    start = time.perf_counter()
    first, first_features = featurize_packages("669", rows.packages, rows.controls,
                                               rows.data_dir, embedding=rows.embedding)
    second, second_features = featurize_packages("680", rows.packages, rows.controls,
                                                 rows.data_dir, embedding=rows.embedding)
    kernels, a, b = kernel_pairs(first, second)
    scores = {name: cross_retrieval(first_features[name][a], second_features[name][b])
              for name in first_features}
    section = {"kernels": len(kernels), **rows.section(extras_first=True), "scores": scores,
               "seconds": round(time.perf_counter() - start, 1), "note": args.note}
    show_and_publish(args.report_dir, "toolchain_retrieval", section, toolchain_markdown,
                     draw_toolchain_retrieval)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
