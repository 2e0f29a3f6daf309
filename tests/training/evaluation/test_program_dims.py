"""The program-dimensions diagnostic: a head on the first K principal components of the
program columns (fitted on the training rows only), and its report section."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mirencoder.training.evaluation.heads import ReducedProgramHead, XGBoostHead
from mirencoder.training.evaluation.program_dims import main
from mirencoder.training.evaluation.program_dims_table import (
    collect_program_dims,
    program_dims_markdown,
    program_dims_statements,
)


class _Recorder:
    """A head that keeps what it was fitted on and predicts the first column's sign."""

    deterministic = True

    def fit(self, features: np.ndarray, labels: np.ndarray) -> _Recorder:
        self.fitted = features
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        return (features[:, 0] > 0).astype(int)


def test_the_head_sees_k_components_beside_the_other_columns():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=200)
    program = np.outer(signal, rng.normal(size=32)) + 0.05 * rng.normal(size=(200, 32))
    runtime = rng.uniform(size=(200, 2))
    features = np.hstack([program, runtime])
    labels = (signal > 0).astype(int)
    head = ReducedProgramHead(_Recorder(), program_columns=32, dims=3).fit(features[:150],
                                                                          labels[:150])
    assert head.inner.fitted.shape == (150, 3 + 2)
    assert np.array_equal(head.inner.fitted[:, 3:], runtime[:150])  # untouched
    components = head.components.copy()
    predicted = head.predict(features[150:])  # test rows do not refit the components
    assert np.array_equal(head.components, components)
    # The first component is the one direction the program columns vary along.
    accuracy = max(np.mean(predicted == labels[150:]), np.mean(predicted != labels[150:]))
    assert accuracy > 0.95
    xgb = ReducedProgramHead(XGBoostHead("devmap"), program_columns=32, dims=1)
    assert xgb.deterministic
    assert np.mean(xgb.fit(features[:150], labels[:150]).predict(features[150:])
                   == labels[150:]) > 0.9


def _summary(folder: Path, accuracy: dict[str, float]) -> None:
    methods = {m: {"accuracy_mean": a} for m, a in accuracy.items()}
    results = {"devmap-669": {"leakage-free": {"amd": methods}}}
    (folder / "results").mkdir(parents=True)
    (folder / "results" / "summary.json").write_text(json.dumps({"results": results}))


def test_the_section_puts_k_side_by_side_with_the_twins_mean(tmp_path: Path):
    _summary(tmp_path / "k0", {"encoder": 85.0, "encoder-untrained": 84.0, "static": 59.0})
    _summary(tmp_path / "k2", {"encoder": 88.0, "encoder-untrained": 87.0})
    _summary(tmp_path / "k2-twin1", {"encoder-untrained": 89.0, "runtime-only": 91.8})
    (tmp_path / "notes").mkdir()  # other folders are ignored
    section = collect_program_dims(tmp_path)
    assert section["dims"] == [2, 0] and section["settings"] == ["devmap-669 amd"]
    assert section["scores"]["encoder-untrained"]["devmap-669 amd"] == [[87.0, 89.0], [84.0]]
    table = program_dims_markdown(section)
    assert "| devmap-669 amd | untrained twins | 88.0 ± 1.4 | 84.0 |" in table
    assert "| devmap-669 amd | pre-trained encoder (fused) | 88.0 | 85.0 |" in table
    assert "static" not in table and "K=all" in table
    assert "run-time inputs only" not in table  # a twins' folder adds only twins
    _summary(tmp_path / "k2-main", {})  # not a k<K> name: ignored
    assert program_dims_statements(section) == []  # no run-time row to set it against
    section["scores"]["runtime-only"]["devmap-669 amd"] = [[91.8], []]
    assert program_dims_statements(section) == [
        "**what limits DevMap leakage-free** (the head on the first K principal components of "
        "each program representation; How many program dimensions the DevMap head can use): "
        "devmap-669 amd encoder 88.0 % at K=2 (all dimensions 85.0), twins 88.0 ± 1.4, "
        "run-time inputs alone 91.8."]
    assert main([str(tmp_path), "--report-dir", str(tmp_path / "report")]) == 0
    assert (tmp_path / "report" / "results" / "program_dims.png").stat().st_size > 0
    assert "How many program dimensions" in (tmp_path / "report" / "RESULTS.md").read_text()
    with pytest.raises(SystemExit):
        main([str(tmp_path / "notes")])
