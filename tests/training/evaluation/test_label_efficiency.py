"""The label-efficiency diagnostic (``label_efficiency.py``): the training-kernel draw, the
scoring, the report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mirencoder.infra.errors import ConfigError
from mirencoder.training.evaluation.devmap_eval import DevMapConfig, evaluate_devmap_rows
from mirencoder.training.evaluation.folds import kernel_grouped_folds, subsample_training_groups
from mirencoder.training.evaluation.label_efficiency import parse_fractions, score_fraction
from mirencoder.training.evaluation.label_efficiency_table import (
    draw_label_efficiency,
    label_efficiency_markdown,
    label_efficiency_statements,
)


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


def test_scores_per_share_and_the_full_share_is_the_protocol(synthetic_devmap):
    data, features = synthetic_devmap(48)
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


def test_table_statement_figure_and_report(tmp_path: Path, render_with):
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
    text = render_with("label_efficiency", section)
    assert "## Does pre-training help when labels are few?" in text
    assert "**label efficiency**" in text


def test_decision_probe_scores_per_share_and_its_report(synthetic_decisions):
    from mirencoder.training.evaluation.label_efficiency import decision_share_scores
    from mirencoder.training.evaluation.label_efficiency_table import (
        DECISIONS,
        decision_efficiency_markdown,
    )
    from mirencoder.training.evaluation.probes.config import ProbeConfig

    rng = np.random.default_rng(2)
    data, yes = synthetic_decisions(120)
    features = {"encoder": rng.standard_normal((120, 4)) + 2.0 * yes,
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


def test_repeated_also_and_twins_flags_add_rows_instead_of_replacing_them(tmp_path: Path):
    import argparse

    from mirencoder.training.evaluation.devmap_sweep import add_rows_arguments, rows_from_args

    for name in ("e", "t0", "t1", "a", "b", "c"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "encoder_config.json").write_text("{}")
    parser = argparse.ArgumentParser()
    add_rows_arguments(parser, controls="opcode-histogram")
    args = parser.parse_args([str(tmp_path / "e"), "--twins", str(tmp_path / "t0"),
                              "--twins", str(tmp_path / "t1"),
                              "--also", f"a={tmp_path / 'a'}", f"b={tmp_path / 'b'}",
                              "--also", f"c={tmp_path / 'c'}"])
    rows = rows_from_args(parser, args)
    assert rows.twins == ["twin0", "twin1"] and rows.extras == ["a", "b", "c"]


def test_embedding_flag_picks_the_output_of_every_package_and_refuses_others(tmp_path: Path):
    """--embedding scores the same output of the encoder, its twins and the extras (fused by
    default, what consumers get); an unknown output ends with the parser's error."""
    import argparse

    from mirencoder.training.evaluation.devmap_sweep import add_rows_arguments, rows_from_args
    from mirencoder.training.evaluation.package_features import package_featurizers

    for name in ("e", "t0"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "encoder_config.json").write_text("{}")
    parser = argparse.ArgumentParser()
    add_rows_arguments(parser, controls="")
    base = [str(tmp_path / "e"), "--twins", str(tmp_path / "t0")]
    assert rows_from_args(parser, parser.parse_args(base)).embedding == "fused"
    assert rows_from_args(parser, parser.parse_args([*base, "--embedding", "graph"])
                          ).embedding == "graph"
    with pytest.raises(SystemExit):
        parser.parse_args([*base, "--embedding", "nodes"])
    with pytest.raises(ValueError, match="embedding must be one of fused, tokens, graph"):
        package_featurizers({"encoder": str(tmp_path / "e")}, "nodes")
