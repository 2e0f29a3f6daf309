"""Thread coarsening on a tiny synthetic table: pooled rows, capping, both protocols."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mirencoder.infra.errors import ConfigError
from mirencoder.training.evaluation.coarsening_data import (
    COARSENING_PLATFORMS,
    build_coarsening_data,
)
from mirencoder.training.evaluation.coarsening_eval import (
    CoarseningConfig,
    coarsening_features,
    evaluate_coarsening_rows,
)
from mirencoder.training.evaluation.folds import leave_group_out, leave_one_row_out
from mirencoder.training.evaluation.programs import EvalProgram

KERNELS = [f"k{i}" for i in range(6)]
# Best factor per kernel (the same on every platform): kernels come in look-alike pairs.
BEST = {"k0": 2, "k1": 2, "k2": 4, "k3": 4, "k4": 8, "k5": 8}


def _synthetic() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, oracles = [], []
    for kernel in KERNELS:
        factors = [1, 2, 4] if kernel == "k0" else [1, 2, 4, 8, 16]
        for cf in factors:
            record = {"kernel": kernel, "cf": cf}
            for platform in COARSENING_PLATFORMS:
                # runtime falls until the best factor, then rises again
                record[f"runtime_{platform}"] = 100.0 * (1 + abs(np.log2(cf) -
                                                             np.log2(BEST[kernel])))
            if kernel == "k4" and cf == 16:
                record["runtime_Fermi"] = float("nan")  # a hole, as nbody has
            rows.append(record)
        oracles.append({"kernel": kernel, **{f"cf_{p}": BEST[kernel]
                                             for p in COARSENING_PLATFORMS}})
    return pd.DataFrame(rows), pd.DataFrame(oracles)


def _data():
    runtimes, oracles = _synthetic()
    programs = [EvalProgram(key=k, kernel=k, path=Path(f"{k}.ll")) for k in KERNELS]
    return build_coarsening_data(runtimes, oracles, programs)


def test_pooled_table_is_platform_major_with_measured_caps() -> None:
    data = _data()
    assert len(data.rows) == 4 * len(KERNELS)
    assert list(data.rows["platform"][:6]) == ["Cypress"] * 6
    assert list(data.rows["kernel"][:6]) == KERNELS
    caps = data.rows.set_index(["kernel", "platform"])["max_cf"]
    assert caps[("k0", "Tahiti")] == 4
    assert caps[("k4", "Fermi")] == 8 and caps[("k4", "Kepler")] == 16
    assert data.coverage["missing_runtimes"] == 1


def test_features_hold_program_vector_and_platform_one_hot() -> None:
    data = _data()
    vectors = np.arange(len(KERNELS), dtype=float)[:, None] * 10
    features = coarsening_features(data, vectors)
    assert features.shape == (24, 5)
    assert features[7, 0] == 10.0 and features[7, 1:].tolist() == [0, 1, 0, 0]


def test_protocol_folds() -> None:
    data = _data()
    kernels = data.rows["kernel"].to_numpy()
    for train, test in leave_one_row_out(len(data.rows)):
        assert len(test) == 1
        assert (kernels[train] == kernels[test[0]]).sum() == 3  # other platforms stay
    for train, test in leave_group_out(kernels):
        assert len(test) == 4 and len(set(kernels[test])) == 1
        assert kernels[test[0]] not in set(kernels[train])


def test_both_protocols_end_to_end() -> None:
    data = _data()
    # a feature that tells the pairs apart (k0/k1 -> 0, k2/k3 -> 1, k4/k5 -> 2), plus noise
    pair = np.array([[i // 2, (i % 2) * 0.01] for i in range(len(KERNELS))], dtype=float)
    config = CoarseningConfig(data_dir=Path("."), cache_dir=Path("."), seeds=1)
    results = evaluate_coarsening_rows(data, {"pair": pair}, config, progress=False)
    assert set(results) == {"literature", "leakage-free"}
    for protocol in results:
        average = results[protocol]["average"]
        assert set(average) == {"pair", "static", "oracle"}
        assert average["static"]["speedup_mean"] == 1.0
        assert average["oracle"]["speedup_mean"] == pytest.approx(
            np.mean([1 + np.log2(BEST[k]) for k in KERNELS]))
        # the pairs make the factor learnable from a look-alike kernel under both protocols
        assert average["pair"]["speedup_mean"] == pytest.approx(
            average["oracle"]["speedup_mean"])
    # a kernel-identity feature only helps when the kernel itself was seen (literature)
    identity = np.eye(len(KERNELS))
    results = evaluate_coarsening_rows(data, {"id": identity}, config, progress=False)
    literature = results["literature"]["average"]["id"]["speedup_mean"]
    leakage_free = results["leakage-free"]["average"]["id"]["speedup_mean"]
    assert literature == pytest.approx(results["literature"]["average"]["oracle"]["speedup_mean"])
    assert leakage_free < literature


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ConfigError) as error:
        CoarseningConfig(data_dir=Path("."), cache_dir=Path("."), protocols=("x",), seeds=0)
    assert len(error.value.problems) == 2


def test_xgboost_head_is_deterministic_and_mlp_head_runs() -> None:
    from mirencoder.training.evaluation.head_factory import make_head

    data = _data()
    features = coarsening_features(data, np.eye(len(KERNELS)))
    labels = data.rows["oracle_cf"].to_numpy()
    first = make_head("xgboost", "coarsening", 0).fit(features, labels).predict(features)
    second = make_head("xgboost", "coarsening", 1).fit(features, labels).predict(features)
    assert np.array_equal(first, second) and set(first) <= set(labels)
    assert make_head("xgboost", "devmap", 0).deterministic
    assert not make_head("mlp", "devmap", 0).deterministic
    config = CoarseningConfig(data_dir=Path("."), cache_dir=Path("."), seeds=2, heads=("mlp",),
                              protocols=("leakage-free",))
    results = evaluate_coarsening_rows(data, {"id": np.eye(len(KERNELS))}, config,
                                       progress=False)
    cell = results["leakage-free"]["average"]["id+mlp"]
    assert cell["n_seeds"] == 2 and 0 < cell["speedup_mean"] <= 4


def test_program_rotation_turns_only_representations_of_several_columns() -> None:
    data = _data()
    size = np.arange(len(KERNELS), dtype=float)[:, None]  # one column: a rotation is a sign
    identity = np.eye(len(KERNELS))
    plain = CoarseningConfig(data_dir=Path("."), cache_dir=Path("."), seeds=2,
                             protocols=("literature",))
    turned = CoarseningConfig(data_dir=Path("."), cache_dir=Path("."), seeds=2,
                              protocols=("literature",), program_rotation=True)
    features = {"size": size, "id": identity}
    before = evaluate_coarsening_rows(data, features, plain, progress=False)["literature"]
    after = evaluate_coarsening_rows(data, features, turned, progress=False)["literature"]
    assert before["average"]["size"] == after["average"]["size"]
    # turned, the one-hot identity still tells every kernel apart (distances are kept): under
    # the literature protocol it still finds the best factor of each row
    for results in (before, after):
        assert results["average"]["id"]["speedup_mean"] == pytest.approx(
            results["average"]["oracle"]["speedup_mean"])


def test_coarsening_resolution_interval_and_statement() -> None:
    from mirencoder.training.evaluation.coarsening_resolution import kernel_interval
    from mirencoder.training.evaluation.coarsening_resolution_table import (
        resolution_statements,
        spread,
    )

    constant = np.full((17, 4), 1.05)
    assert kernel_interval(constant, draws=100) == pytest.approx((1.05, 1.05))
    table = np.vstack([np.full((8, 4), 1.0), np.full((9, 4), 1.2)])
    low, high = kernel_interval(table, draws=2000)
    assert 1.0 < low < table.mean() < high < 1.2
    assert spread([1.0, 1.1, 1.2], 1.1) == {"mean": pytest.approx(1.1), "std": pytest.approx(0.1),
                                            "min": 1.0, "max": 1.2, "reaching": 2, "n": 3}
    section = {"kernels": 17, "target": 1.1,
               "exact": {"program-size": {"columns": 1, "speedup": 1.08,
                                          "interval": [1.01, 1.17]}},
               "random": {"random": {"label": "random vectors", "columns": 128,
                                     "values": [0.95, 1.0, 1.12]}}}
    (line,) = resolution_statements(section, encoder=1.03)
    assert "random vectors 1.023x ± 0.087 (0.950-1.120x); 1 of 3 seeds reach 1.10x" in line
    assert line.endswith("the encoder's 1.030x lies inside the content-free vectors' range.")
    assert resolution_statements({}) == []
