"""Metrics of both tasks: accuracy and speedups over the static choice / factor 1 (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["geometric_mean", "devmap_metrics", "devmap_oracle_metrics", "devmap_static_metrics",
           "cap_factor", "coarsening_speedups", "coarsening_metrics"]


def geometric_mean(values: Sequence[float]) -> float:
    """exp(mean(log(values))); values must be positive."""
    values = np.asarray(values, dtype=float)
    return float(np.exp(np.log(values).mean())) if len(values) else float("nan")


def _devmap_speedups(predicted: np.ndarray, runtime_cpu: np.ndarray, runtime_gpu: np.ndarray,
                     static: str) -> np.ndarray:
    runtime_pred = np.where(predicted == "CPU", runtime_cpu, runtime_gpu)
    runtime_static = runtime_cpu if static == "CPU" else runtime_gpu
    return runtime_static / runtime_pred


def devmap_metrics(predicted: Sequence[str], table: pd.DataFrame, static: str) -> dict[str, float]:
    """Scores device predictions on rows of a device-mapping table.

    Args:
        predicted: ``"CPU"``/``"GPU"`` per row of ``table``.
        table: columns ``oracle``, ``runtime_cpu``, ``runtime_gpu``.
        static: the static device of the platform (``"CPU"`` on AMD, ``"GPU"`` on NVIDIA).

    Returns:
        ``accuracy`` (pooled over rows, %), ``speedup_mean`` (arithmetic mean over rows of
        runtime(static) / runtime(predicted), as published), ``speedup_geomean`` and ``n_rows``.
    """
    predicted = np.asarray(predicted)
    if len(predicted) != len(table):
        raise ValueError(f"{len(predicted)} predictions for {len(table)} rows")
    if not np.isin(predicted, ["CPU", "GPU"]).all():
        raise ValueError("predictions must be 'CPU' or 'GPU'")
    speedups = _devmap_speedups(predicted, table["runtime_cpu"].to_numpy(float),
                                table["runtime_gpu"].to_numpy(float), static)
    return {"accuracy": float((predicted == table["oracle"].to_numpy()).mean() * 100),
            "speedup_mean": float(speedups.mean()), "speedup_geomean": geometric_mean(speedups),
            "n_rows": int(len(table))}


def devmap_oracle_metrics(table: pd.DataFrame, static: str) -> dict[str, float]:
    """The ceiling: always the faster device."""
    return devmap_metrics(table["oracle"].to_numpy(), table, static)


def devmap_static_metrics(table: pd.DataFrame, static: str) -> dict[str, float]:
    """The floor: always the static device (speedup 1 by definition)."""
    return devmap_metrics(np.full(len(table), static), table, static)


def cap_factor(predicted: int, measured: Mapping[int, float]) -> int:
    """Caps a predicted coarsening factor at the largest factor measured for the row, and falls
    back to the largest measured factor below it when that one has no runtime."""
    allowed = [f for f in measured if f <= predicted]
    return max(allowed) if allowed else min(measured)


def coarsening_speedups(rows: pd.DataFrame, predicted: Sequence[int],
                        runtimes: Mapping[tuple[str, str], Mapping[int, float]]) -> np.ndarray:
    """runtime(factor 1) / runtime(capped predicted factor) per row of the pooled table."""
    out = np.empty(len(rows))
    for i, (kernel, platform, factor) in enumerate(zip(rows["kernel"], rows["platform"],
                                                       predicted, strict=True)):
        measured = runtimes[(kernel, platform)]
        out[i] = measured[1] / measured[cap_factor(int(factor), measured)]
    return out


def coarsening_metrics(rows: pd.DataFrame, predicted: Sequence[int],
                       runtimes: Mapping[tuple[str, str], Mapping[int, float]],
                       platforms: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per platform and ``average``: mean speedup over factor 1 (arithmetic, as published),
    geometric mean, and accuracy of the capped factor against the oracle factor (%).

    The ``average`` speedup is the mean of the per-platform means, as published; its accuracy
    is pooled over rows.
    """
    predicted = np.asarray([cap_factor(int(f), runtimes[(k, p)]) for k, p, f in
                            zip(rows["kernel"], rows["platform"], predicted, strict=True)])
    speedups = coarsening_speedups(rows, predicted, runtimes)
    correct = predicted == rows["oracle_cf"].to_numpy()
    result: dict[str, dict[str, float]] = {}
    for platform in platforms:
        mask = (rows["platform"] == platform).to_numpy()
        result[platform.lower()] = {
            "accuracy": float(correct[mask].mean() * 100),
            "speedup_mean": float(speedups[mask].mean()),
            "speedup_geomean": geometric_mean(speedups[mask]), "n_rows": int(mask.sum())}
    per_platform = [result[p.lower()] for p in platforms]
    result["average"] = {
        "accuracy": float(correct.mean() * 100),
        "speedup_mean": float(np.mean([r["speedup_mean"] for r in per_platform])),
        "speedup_geomean": geometric_mean(speedups), "n_rows": int(len(rows))}
    return result
