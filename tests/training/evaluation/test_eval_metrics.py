"""Metrics on hand-made tables: accuracy, arithmetic/geometric speedups, oracle, capping."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mirencoder.training.evaluation.crossval import aggregate_seeds
from mirencoder.training.evaluation.metrics import (
    cap_factor,
    coarsening_metrics,
    devmap_metrics,
    devmap_oracle_metrics,
    devmap_static_metrics,
    geometric_mean,
)

TABLE = pd.DataFrame({
    "oracle": ["GPU", "CPU", "GPU", "CPU"],
    "runtime_cpu": [4.0, 1.0, 9.0, 2.0],
    "runtime_gpu": [1.0, 2.0, 3.0, 4.0],
})


def test_devmap_metrics_by_hand() -> None:
    predicted = ["GPU", "GPU", "CPU", "CPU"]
    result = devmap_metrics(predicted, TABLE, static="CPU")
    assert result["accuracy"] == pytest.approx(50.0)
    speedups = [4 / 1, 1 / 2, 9 / 9, 2 / 2]  # runtime(CPU) / runtime(predicted)
    assert result["speedup_mean"] == pytest.approx(np.mean(speedups))
    assert result["speedup_geomean"] == pytest.approx(math.prod(speedups) ** 0.25)
    assert result["n_rows"] == 4


def test_devmap_oracle_and_static() -> None:
    oracle = devmap_oracle_metrics(TABLE, static="CPU")
    assert oracle["accuracy"] == 100.0
    assert oracle["speedup_mean"] == pytest.approx(np.mean([4, 1, 3, 1]))
    static = devmap_static_metrics(TABLE, static="GPU")
    assert static["speedup_mean"] == 1.0 and static["speedup_geomean"] == 1.0
    assert static["accuracy"] == 50.0


def test_devmap_metrics_rejects_bad_predictions() -> None:
    with pytest.raises(ValueError):
        devmap_metrics(["GPU"], TABLE, static="CPU")
    with pytest.raises(ValueError):
        devmap_metrics(["TPU"] * 4, TABLE, static="CPU")


def test_geometric_mean_and_seed_aggregation() -> None:
    assert geometric_mean([1, 4]) == pytest.approx(2.0)
    agg = aggregate_seeds([
        {"accuracy": 80.0, "speedup_mean": 2.0, "speedup_geomean": 1.5, "n_rows": 4},
        {"accuracy": 90.0, "speedup_mean": 3.0, "speedup_geomean": 1.5, "n_rows": 4}])
    assert agg["accuracy_mean"] == 85.0
    assert agg["accuracy_std"] == pytest.approx(np.std([80, 90], ddof=1))
    assert agg["geomean_std"] == 0.0 and agg["n_seeds"] == 2 and agg["n_rows"] == 4


def test_cap_factor() -> None:
    measured = {1: 10.0, 2: 8.0, 4: 6.0, 8: 7.0}
    assert cap_factor(32, measured) == 8
    assert cap_factor(4, measured) == 4
    assert cap_factor(16, {1: 1.0, 2: 1.0, 4: 1.0, 8: 1.0, 32: 1.0}) == 8  # hole at 16


def test_coarsening_metrics_per_platform_and_average() -> None:
    rows = pd.DataFrame({"kernel": ["a", "b", "a", "b"], "platform": ["P", "P", "Q", "Q"],
                         "oracle_cf": [2, 1, 4, 1]})
    runtimes = {("a", "P"): {1: 10.0, 2: 5.0}, ("b", "P"): {1: 4.0, 2: 8.0},
                ("a", "Q"): {1: 9.0, 2: 6.0, 4: 3.0}, ("b", "Q"): {1: 2.0, 2: 4.0, 4: 8.0}}
    result = coarsening_metrics(rows, [32, 2, 4, 1], runtimes, ["P", "Q"])
    # a/P predicted 32 -> capped to 2 (largest measured): speedup 2; b/P predicted 2: 0.5
    assert result["p"]["speedup_mean"] == pytest.approx((2.0 + 0.5) / 2)
    assert result["q"]["speedup_mean"] == pytest.approx((3.0 + 1.0) / 2)
    assert result["average"]["speedup_mean"] == pytest.approx((1.25 + 2.0) / 2)
    assert result["p"]["accuracy"] == 50.0 and result["q"]["accuracy"] == 100.0
    assert result["average"]["speedup_geomean"] == pytest.approx((2 * 0.5 * 3 * 1) ** 0.25)
