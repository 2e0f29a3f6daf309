"""Builders the evaluation tests share: synthetic DevMap rows, synthetic decision-probe rows,
and the report (RESULTS.md, then STUDIES.md) rendered with one more section."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mirencoder.training.evaluation.devmap_data import DevMapData
from mirencoder.training.evaluation.probes.data import TASKS, DecisionSet

_SUMMARY = Path(__file__).parents[3] / "results" / "summary.json"


def _devmap(kernels: int, seed: int = 0) -> tuple[DevMapData, dict[str, np.ndarray]]:
    """``kernels`` kernels at 6 data sizes (platform ``amd``): the device flips at a transfer
    threshold set by a program property; feature set ``informative`` holds it, ``noise`` not."""
    rng = np.random.default_rng(seed)
    kernel = np.repeat(np.arange(kernels), 6)
    prop = np.where(np.arange(kernels) % 2 == 0, 1.0, -1.0)
    transfer = 10 ** rng.uniform(2, 7, len(kernel))
    labels = np.where(transfer > np.where(prop[kernel] > 0, 10 ** 6.5, 10 ** 3.0), "GPU", "CPU")
    table = pd.DataFrame({
        "benchmark": [f"k{k}" for k in kernel], "transfer": transfer,
        "wgsize": rng.choice([64.0, 256.0], len(kernel)), "oracle": labels,
        "runtime_cpu": np.where(labels == "CPU", 1.0, 2.0),
        "runtime_gpu": np.where(labels == "GPU", 1.0, 2.0), "program": kernel})
    data = DevMapData(name="devmap-test", programs=[], tables={"amd": table})
    return data, {"informative": np.column_stack([prop, rng.normal(size=kernels)]),
                  "noise": rng.normal(size=(kernels, 2))}


def _decisions(n: int) -> tuple[DecisionSet, np.ndarray]:
    """``n`` programs, two per source, two thirds labelled ``yes`` on every task, with the
    ``[n, 1]`` column that is 1 on the ``yes`` rows (a signal to add to features)."""
    labels = ["yes" if i % 3 else "no" for i in range(n)]
    data = DecisionSet(programs=[], groups={"source": [f"s{i // 2}" for i in range(n)]},
                       corpora=["c"] * n, labels={task: labels for task in TASKS})
    return data, np.asarray([[1.0 if label == "yes" else 0.0] for label in labels])


def _render_with(key: str, section: dict[str, Any]) -> str:
    from mirencoder.training.evaluation.report_markdown import render_results_md, render_studies

    summary = json.loads(_SUMMARY.read_text())
    summary[key] = section
    return render_results_md(summary, figures={}) + "".join(render_studies(summary).values())


@pytest.fixture()
def synthetic_devmap() -> Callable[..., tuple[DevMapData, dict[str, np.ndarray]]]:
    """``(kernels, seed=0) -> (rows, {"informative": ..., "noise": ...})``."""
    return _devmap


@pytest.fixture()
def synthetic_decisions() -> Callable[[int], tuple[DecisionSet, np.ndarray]]:
    """``n -> (decision rows, yes-signal column)``."""
    return _decisions


@pytest.fixture()
def render_with() -> Callable[[str, dict[str, Any]], str]:
    """``(summary key, section) -> RESULTS.md`` of the committed summary plus that section."""
    return _render_with
