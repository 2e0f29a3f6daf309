"""Loads the thread-coarsening data (Magni et al. PACT'14): 17 kernels x 4 GPUs x factors 1-32."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...infra.errors import InputError
from .paths import evaluation_data, extract_kernels
from .programs import EvalProgram

__all__ = ["COARSENING_PLATFORMS", "COARSENING_FACTORS", "PLATFORM_NAMES", "CoarseningData",
           "build_coarsening_data", "load_thread_coarsening"]

COARSENING_PLATFORMS = ("Cypress", "Tahiti", "Fermi", "Kepler")
"""In the order of IR2Vec's notebook (the pooled table lists platforms in this order)."""
PLATFORM_NAMES = {"Cypress": "AMD Radeon HD 5900", "Tahiti": "AMD Tahiti 7970",
                  "Fermi": "NVIDIA GTX 480", "Kepler": "NVIDIA Tesla K20c"}
COARSENING_FACTORS = (1, 2, 4, 8, 16, 32)


@dataclass(slots=True)
class CoarseningData:
    """The pooled kernel x platform table.

    Attributes:
        programs: one per kernel, sorted by name.
        rows: one row per (platform, kernel) in platform-major order: columns ``kernel``,
            ``platform``, ``program`` (index into programs), ``oracle_cf`` (best factor) and
            ``max_cf`` (largest factor with a measured runtime on that platform).
        runtimes: ``(kernel, platform) -> {factor: runtime}`` for every measured factor.
        coverage: counts and notes (e.g. missing runtimes).
    """

    programs: list[EvalProgram]
    rows: pd.DataFrame
    runtimes: dict[tuple[str, str], dict[int, float]]
    coverage: dict[str, Any] = field(default_factory=dict)

    @property
    def kernels(self) -> list[str]:
        return [p.kernel for p in self.programs]


def build_coarsening_data(runtimes: pd.DataFrame, oracles: pd.DataFrame,
                          programs: list[EvalProgram]) -> CoarseningData:
    """Builds the pooled table from the runtimes and oracles CSVs (pure; used by tests too).

    Args:
        runtimes: columns ``kernel``, ``cf`` and ``runtime_<platform>`` for each platform.
        oracles: columns ``kernel`` and ``cf_<platform>``.
        programs: one per kernel in ``runtimes`` (matched by ``kernel``).

    Raises:
        InputError: when a kernel has no program, no factor-1 runtime, or an oracle factor
            whose runtime is missing.
    """
    by_kernel = {p.kernel: i for i, p in enumerate(programs)}
    table: dict[tuple[str, str], dict[int, float]] = {}
    missing_runtimes = 0
    for (kernel, cf), group in runtimes.groupby(["kernel", "cf"], sort=True):
        for platform in COARSENING_PLATFORMS:
            value = float(group[f"runtime_{platform}"].iloc[0])
            if np.isfinite(value):
                table.setdefault((kernel, platform), {})[int(cf)] = value
            else:
                missing_runtimes += 1
    oracle_of = oracles.set_index("kernel")
    rows = []
    for platform in COARSENING_PLATFORMS:
        for kernel in sorted(runtimes["kernel"].unique()):
            if kernel not in by_kernel:
                raise InputError("missing_ir", f"thread coarsening: no IR file for {kernel}")
            measured = table.get((kernel, platform), {})
            if 1 not in measured:
                raise InputError("malformed_csv", f"{kernel}/{platform}: no factor-1 runtime")
            oracle_cf = int(oracle_of.loc[kernel, f"cf_{platform}"])
            if oracle_cf not in measured:
                raise InputError("malformed_csv",
                                 f"{kernel}/{platform}: oracle factor {oracle_cf} not measured")
            rows.append({"kernel": kernel, "platform": platform, "program": by_kernel[kernel],
                         "oracle_cf": oracle_cf, "max_cf": max(measured)})
    frame = pd.DataFrame(rows)
    coverage = {"kernels": len(programs), "rows": len(frame),
                "missing_runtimes": missing_runtimes,
                "note": "nbody has no factor-16 runtime on Fermi and Kepler; predictions are "
                        "capped at the largest factor measured on the row's platform"
                        if missing_runtimes else ""}
    return CoarseningData(programs=programs, rows=frame, runtimes=table, coverage=coverage)


def load_thread_coarsening(data_dir: Path, cache_dir: Path) -> CoarseningData:
    """Loads the runtimes, the oracles and the 17 IR files (the recipe
    ``thread-coarsening-v1`` names their archive; the CSVs lie beside it)."""
    found = evaluation_data("thread-coarsening-v1", data_dir,
                            ("pact-2014-runtimes.csv", "pact-2014-oracles.csv"))
    folder = found.folder
    root = extract_kernels(found.path, cache_dir) / "kernels_ir"
    runtimes = pd.read_csv(folder / "pact-2014-runtimes.csv")
    oracles = pd.read_csv(folder / "pact-2014-oracles.csv")
    programs = [EvalProgram(key=k, kernel=k, path=root / f"{k}.ll")
                for k in sorted(runtimes["kernel"].unique()) if (root / f"{k}.ll").is_file()]
    return build_coarsening_data(runtimes, oracles, programs)
