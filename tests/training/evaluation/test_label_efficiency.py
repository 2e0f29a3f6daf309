"""The label-efficiency diagnostic (``label_efficiency.py``): the training-kernel draw, the
scoring, the report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mirencoder.infra.errors import ConfigError
from mirencoder.training.evaluation.devmap_data import DevMapData
from mirencoder.training.evaluation.devmap_eval import DevMapConfig, evaluate_devmap_rows
from mirencoder.training.evaluation.folds import kernel_grouped_folds, subsample_training_groups
from mirencoder.training.evaluation.label_efficiency import parse_fractions, score_fraction
from mirencoder.training.evaluation.label_efficiency_table import (
    draw_label_efficiency,
    label_efficiency_markdown,
    label_efficiency_statements,
)
from mirencoder.training.evaluation.report_markdown import render_results_md


def _rows(kernels: int = 40, sizes: int = 5):
    rng = np.random.default_rng(0)
    groups = np.repeat([f"k{k}" for k in range(kernels)], sizes)
    labels = np.where(rng.random(len(groups)) < 0.3, "GPU", "CPU")
    return labels, groups


def test_each_fold_keeps_a_share_of_its_training_kernels_and_all_its_test_rows():
    labels, groups = _rows()
    folds = kernel_grouped_folds(labels, groups, seed=0, n_splits=5)
    kept = subsample_training_groups(folds, labels, groups, 0.25, seed=3)
    for (train, test), (small, same_test) in zip(folds, kept, strict=True):
        assert np.array_equal(test, same_test)
        assert set(small) <= set(train)
        names = set(groups[small])
        assert len(names) == round(0.25 * len(set(groups[train])))
        # whole kernels: every row of a kept kernel that was in training is kept
        assert set(small) == {i for i in train if groups[i] in names}
        assert set(labels[small]) == set(labels[train])
    again = subsample_training_groups(folds, labels, groups, 0.25, seed=3)
    other = subsample_training_groups(folds, labels, groups, 0.25, seed=4)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(kept, again, strict=True))
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(kept, other, strict=True))
    assert subsample_training_groups(folds, labels, groups, 1.0, seed=0) == folds
    tiny = subsample_training_groups(folds, labels, groups, 0.001, seed=0)
    assert all(len(set(groups[train])) == 2 for train, _ in tiny)  # at least 2 kernels
    with pytest.raises(ValueError, match="fraction"):
        subsample_training_groups(folds, labels, groups, 0.0, seed=0)
    with pytest.raises(ConfigError, match="train_kernels"):
        DevMapConfig(train_kernels=1.5)


def test_shares_parse_and_bad_ones_are_named():
    assert parse_fractions("1, 0.1,0.25,0.1") == [0.1, 0.25, 1.0]
    for bad, words in [("a", "'a'"), ("0", "in \\(0, 1\\]"), ("1.5", "'1.5'"),
                       ("", "no share")]:
        with pytest.raises(ValueError, match=words):
            parse_fractions(bad)


def _devmap(seed: int = 0) -> tuple[DevMapData, dict[str, np.ndarray]]:
    """48 kernels at 6 data sizes: the device flips at a transfer threshold set by a program
    property; one feature set holds it, one is noise."""
    rng = np.random.default_rng(seed)
    kernel = np.repeat(np.arange(48), 6)
    prop = np.where(np.arange(48) % 2 == 0, 1.0, -1.0)
    transfer = 10 ** rng.uniform(2, 7, len(kernel))
    labels = np.where(transfer > np.where(prop[kernel] > 0, 10 ** 6.5, 10 ** 3.0), "GPU", "CPU")
    table = pd.DataFrame({
        "benchmark": [f"k{k}" for k in kernel], "transfer": transfer,
        "wgsize": rng.choice([64.0, 256.0], len(kernel)), "oracle": labels,
        "runtime_cpu": np.where(labels == "CPU", 1.0, 2.0),
        "runtime_gpu": np.where(labels == "GPU", 1.0, 2.0), "program": kernel})
    data = DevMapData(name="devmap-test", programs=[], tables={"amd": table})
    return data, {"informative": np.column_stack([prop, rng.normal(size=48)]),
                  "noise": rng.normal(size=(48, 2))}


def test_scores_per_share_and_the_full_share_is_the_protocol():
    data, features = _devmap()
    half = score_fraction(data, features, "amd", 0.5, seeds=2, n_splits=4)
    assert set(half) == {"informative", "noise"}
    assert all(len(v) == 2 and all(0 <= a <= 100 for a in v) for v in half.values())
    assert np.mean(half["informative"]) > np.mean(half["noise"]) + 5
    full = score_fraction(data, features, "amd", 1.0, seeds=2, n_splits=4)
    config = DevMapConfig(data_dir=Path("."), cache_dir=Path("."), platforms=("amd",),
                          protocols=("leakage-free",), seeds=2, n_splits=4)
    protocol = evaluate_devmap_rows(data, features, config, progress=False)
    assert full["informative"] == [s["accuracy"] for s in
                                   protocol["leakage-free"]["amd"]["informative"]["per_seed"]]


def _section() -> dict:
    settings = ["devmap-669 amd", "devmap-680 nvidia"]
    scores = {"10 % of the training kernels": {
                  "devmap-669 amd": {"encoder": [80.0, 82.0], "twin0": [77.0, 77.0],
                                     "twin1": [79.0, 79.0], "runtime-only": [85.0, 85.0]},
                  "devmap-680 nvidia": {"encoder": [75.0, 75.0], "twin0": [74.0, 74.0],
                                        "twin1": [74.0, 74.0], "runtime-only": [76.0, 76.2]}},
              "100 % of the training kernels": {
                  "devmap-669 amd": {"encoder": [85.0], "twin0": [85.0], "twin1": [84.0]},
                  "devmap-680 nvidia": {"encoder": [82.0], "twin0": [83.0], "twin1": [83.0]}}}
    return {"fractions": [0.1, 1.0], "settings": settings, "twins": ["twin0", "twin1"],
            "controls": ["runtime-only"], "seeds": 2,
            "packages": {"encoder": "e", "twin0": "t0", "twin1": "t1"}, "scores": scores,
            "note": "a note"}


def test_table_statement_figure_and_report(tmp_path: Path):
    section = _section()
    markdown = label_efficiency_markdown(section)
    assert "## Does pre-training help when labels are few?" in markdown
    assert "| 10 % of the training kernels | **pre-trained minus twins' mean** | **+3.0** | " \
           "**+1.0** |" in markdown
    assert "| 10 % of the training kernels | run-time inputs only | 85.0 ± 0.0 |" in markdown
    [statement] = label_efficiency_statements(section)
    assert "at 10 % of the training kernels +3.0 / +1.0" in statement
    assert "at 100 % of the training kernels +0.5 / -1.0" in statement
    assert label_efficiency_statements({}) == []
    png = draw_label_efficiency(section, tmp_path / "le.png")
    assert png.is_file() and png.stat().st_size > 1000
    summary = json.loads((Path(__file__).parents[3] / "results" / "summary.json").read_text())
    summary["label_efficiency"] = section
    text = render_results_md(summary, figures={})
    assert "## Does pre-training help when labels are few?" in text
    assert "**label efficiency**" in text


def test_decision_probe_scores_per_share_and_its_report():
    from mirencoder.training.evaluation.label_efficiency import decision_share_scores
    from mirencoder.training.evaluation.label_efficiency_table import (
        DECISIONS,
        decision_efficiency_markdown,
    )
    from mirencoder.training.evaluation.probes.config import ProbeConfig
    from mirencoder.training.evaluation.probes.data import TASKS, DecisionSet

    rng = np.random.default_rng(2)
    labels = ["yes" if i % 3 else "no" for i in range(120)]
    data = DecisionSet(programs=[], groups={"source": [f"s{i // 2}" for i in range(120)]},
                       corpora=["c"] * 120, labels={task: labels for task in TASKS})
    signal = np.asarray([[2.0 if label == "yes" else 0.0] for label in labels])
    features = {"encoder": rng.standard_normal((120, 4)) + signal,
                "twin0": rng.standard_normal((120, 4)),
                "opcode-histogram": rng.standard_normal((120, 4))}
    config = ProbeConfig(folds=3, fold_repeats=2, min_class_count=2)
    scores = decision_share_scores(features, data, config, [0.1, 1.0])
    assert list(scores) == ["10 % of the training groups", "100 % of the training groups"]
    full = scores["100 % of the training groups"]["vectorised? (source folds)"]
    assert set(full) == set(features) and all(len(v) == 2 for v in full.values())
    assert np.mean(full["encoder"]) > np.mean(full["twin0"]) + 10
    section = {"fractions": [0.1, 1.0], "settings": sorted(scores["10 % of the training groups"]),
               "twins": ["twin0"], "controls": ["opcode-histogram"], "seeds": 2,
               "packages": {}, "scores": scores, "unit": "groups", "note": ""}
    markdown = decision_efficiency_markdown(section)
    assert "| 10 % of the training groups | pre-trained encoder |" in markdown
    [statement] = label_efficiency_statements(section, DECISIONS)
    assert statement.startswith("**label efficiency of the decision probe**")
    assert "at 10 % of the training groups +" in statement


def test_packages_are_named_and_bad_extras_are_refused(tmp_path: Path):
    from mirencoder.training.evaluation.package_features import named_packages

    for name in ("e", "t0", "t1", "s250"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "encoder_config.json").write_text("{}")
    packages, twins, extras = named_packages(tmp_path / "e", [tmp_path / "t0", tmp_path / "t1"],
                                             [f"step250={tmp_path / 's250'}"])
    assert list(packages) == ["encoder", "twin0", "twin1", "step250"]
    assert twins == ["twin0", "twin1"] and extras == ["step250"]
    for also, words in [(["step250"], "NAME=PACKAGE"), ([f"twin0={tmp_path / 's250'}"], "taken"),
                        ([f"x={tmp_path / 'nothing'}"], "not an encoder package")]:
        with pytest.raises(ValueError, match=words):
            named_packages(tmp_path / "e", [tmp_path / "t0"], also)
