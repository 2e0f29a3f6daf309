"""The program-dimensions diagnostic: a head on the first K principal components of the
program columns (fitted on the training rows only), and its report section."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mirencoder.training.evaluation.heads import (
    MLPHead,
    ReducedProgramHead,
    RotatedProgramHead,
    XGBoostHead,
    random_rotation,
    signed_log1p,
)
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
        "each program representation, or on all of it in a random basis; How many program "
        "dimensions the DevMap head can use): "
        "devmap-669 amd encoder 88.0 % at K=2 (all dimensions 85.0), twins 88.0 ± 1.4, "
        "run-time inputs alone 91.8."]
    assert main([str(tmp_path), "--report-dir", str(tmp_path / "report")]) == 0
    assert (tmp_path / "report" / "results" / "program_dims.png").stat().st_size > 0
    assert "How many program dimensions" in (tmp_path / "report" / "RESULTS.md").read_text()
    with pytest.raises(SystemExit):
        main([str(tmp_path / "notes")])


def test_the_rotated_head_sees_the_same_information_in_another_basis():
    rotation = random_rotation(6, seed=3)
    assert np.allclose(rotation @ rotation.T, np.eye(6))
    assert np.array_equal(rotation, random_rotation(6, seed=3))
    assert not np.allclose(rotation, random_rotation(6, seed=4))
    rng = np.random.default_rng(0)
    program = rng.normal(loc=5.0, scale=[1, 2, 3, 4, 5, 6], size=(120, 6))
    runtime = rng.uniform(size=(120, 2))
    features = np.hstack([program, runtime])
    head = RotatedProgramHead(_Recorder(), program_columns=6, seed=3).fit(features[:100],
                                                                        np.zeros(100))
    fitted = head.inner.fitted
    assert fitted.shape == (100, 8) and np.array_equal(fitted[:, 6:], runtime[:100])
    standardised = (program[:100] - program[:100].mean(0)) / program[:100].std(0)
    assert np.allclose(fitted[:, :6], standardised @ rotation)  # distances kept, axes turned
    assert not np.allclose(np.abs(fitted[:, :6]), np.abs(standardised))
    assert not head.deterministic  # one rotation per seed: the runners must not reuse folds


def test_rotated_folders_add_a_column_after_every_dimension(tmp_path: Path):
    _summary(tmp_path / "k0", {"encoder": 85.0, "encoder-untrained": 84.0, "runtime-only": 91.8,
                               "opcode-histogram": 87.4, "program-size": 87.0})
    _summary(tmp_path / "k1", {"encoder": 90.0, "encoder-untrained": 87.0})
    _summary(tmp_path / "rotated", {"encoder": 84.0, "encoder-untrained": 85.0,
                                    "opcode-histogram": 84.6})
    _summary(tmp_path / "rotated-twin1", {"encoder-untrained": 83.0, "encoder": 99.0})
    section = collect_program_dims(tmp_path)
    assert section["dims"] == [1, 0, -1]
    assert section["scores"]["encoder-untrained"]["devmap-669 amd"][-1] == [85.0, 83.0]
    table = program_dims_markdown(section)
    assert "K=all, rotated |" in table
    assert "| devmap-669 amd | opcode histogram | – | 87.4 | 84.6 |" in table
    assert "| devmap-669 amd | program size (log instruction count) | – | 87.0 | – |" in table
    (statement,) = program_dims_statements(section)
    assert "encoder 90.0 % at K=1" in statement  # the rotated column is not a K to pick
    assert ("opcode histogram 87.4 as is and 84.6 rotated, program size alone 87.0."
            in statement)


def test_mlp_head_reads_a_run_time_input_spanning_orders_of_magnitude():
    """DevMap's ``transfer`` spans seven orders of magnitude: standardised as is, it is a few
    huge values and a flat rest; the MLP head logs it first and learns a threshold on it."""
    rng = np.random.default_rng(0)
    transfer = 10.0 ** rng.uniform(2, 9, size=400)
    labels = (transfer > 1e5).astype(int)
    features = np.column_stack([transfer, rng.normal(size=400)])
    head = MLPHead("devmap", seed=0).fit(features[:300], labels[:300])
    assert (head.predict(features[300:]) == labels[300:]).mean() >= 0.95
    values = np.array([-1e6, -1.0, 0.0, 1.0, 1e6])
    logged = signed_log1p(values)
    assert np.all(np.diff(logged) > 0) and logged[2] == 0 and logged[0] == -logged[-1]
