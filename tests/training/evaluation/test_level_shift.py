"""The optimisation-level shift diagnostic (``level_shift.py``): kernels compiled at another
level, heads tested on another level's features, cross-level retrieval, the report."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from mirencoder.training.evaluation.crossval import cross_val_predict
from mirencoder.training.evaluation.devmap_data import _compile_kernels, load_devmap
from mirencoder.training.evaluation.folds import kernel_grouped_folds
from mirencoder.training.evaluation.heads import XGBoostHead
from mirencoder.training.evaluation.level_shift import (
    cross_level_top1,
    level_pairs,
    level_retrieval,
    parse_levels,
    score_shift,
)
from mirencoder.training.evaluation.level_shift_table import (
    draw_level_shift,
    level_shift_key,
    level_shift_markdown,
    level_shift_statements,
    shift_drops,
    shift_label,
)

KERNEL = """__kernel void saxpy(__global float* y, __global const float* x, const float a,
                    const int n) {
  int i = get_global_id(0);
  float acc = 0.0f;
  for (int k = 0; k < n; ++k) acc += a * x[(i + k) % n];
  if (i < n) y[i] = acc + y[i];
}
"""


def test_levels_parse_and_pairs_keep_the_protocol_level_in_every_shift():
    assert parse_levels("O0, O2,O0") == ["O0", "O2"]
    for bad, words in [("O0,O9", "unknown optimisation level"), ("O2", "at least two"),
                       ("", "at least two")]:
        with pytest.raises(ValueError, match=words):
            parse_levels(bad)
    pairs = level_pairs(["O0", "O1", "O2"], "O2")
    assert pairs[:3] == [("O0", "O0"), ("O1", "O1"), ("O2", "O2")]
    assert set(pairs[3:]) == {("O0", "O2"), ("O2", "O0"), ("O1", "O2"), ("O2", "O1")}
    assert ("O0", "O3") in level_pairs(["O0", "O2", "O3"], "O2")  # the extremes too


@pytest.mark.skipif(shutil.which("clang-14") is None and shutil.which("clang") is None,
                    reason="needs clang (infra/test.sh installs it)")
def test_kernels_compile_at_the_asked_level_into_their_own_cache(tmp_path: Path):
    source = tmp_path / "saxpy.cl"
    source.write_text(KERNEL)
    at_o0, failed_o0 = _compile_kernels({"saxpy": source}, tmp_path / "cache", "O0")
    at_o2, failed_o2 = _compile_kernels({"saxpy": source}, tmp_path / "cache", "O2")
    assert not failed_o0 and not failed_o2
    assert at_o0["saxpy"].parent != at_o2["saxpy"].parent
    assert at_o0["saxpy"].read_bytes() != at_o2["saxpy"].read_bytes()
    assert at_o0["saxpy"].stat().st_size > at_o2["saxpy"].stat().st_size  # O0 keeps allocas
    with pytest.raises(ValueError, match="ready IR"):
        load_devmap("669", tmp_path, tmp_path, opt_level="O0")


def test_test_rows_are_predicted_from_the_test_features():
    rng = np.random.default_rng(0)
    groups = np.repeat([f"k{i}" for i in range(30)], 4)
    signal = rng.normal(size=len(groups))
    labels = np.where(signal > 0, "GPU", "CPU")
    train = np.column_stack([signal, rng.normal(size=len(groups))])
    folds = kernel_grouped_folds(labels, groups, seed=0, n_splits=5)

    def head():
        return XGBoostHead("devmap", seed=0)

    same = cross_val_predict(train, labels, folds, head, groups)
    assert (same == cross_val_predict(train, labels, folds, head, groups, train)).all()
    flipped = cross_val_predict(train, labels, folds, head, groups, -train)
    assert (same == labels).mean() > 0.9 and (flipped == labels).mean() < 0.1
    with pytest.raises(ValueError, match="must match"):
        cross_val_predict(train, labels, folds, head, groups, train[:, :1])


def test_a_shift_that_keeps_the_features_scores_as_the_protocol(synthetic_devmap):
    data, features = synthetic_devmap(40)
    same = score_shift(data, features, features, "amd", seeds=2)
    moved = {name: matrix + np.array([3.0, 0.0]) for name, matrix in features.items()}
    shifted = score_shift(data, features, moved, "amd", seeds=2)
    assert set(same) == {"informative", "noise"}
    assert np.mean(same["informative"]) > np.mean(shifted["informative"]) + 10


def test_cross_level_retrieval_finds_the_same_kernel_and_splits_ties():
    rng = np.random.default_rng(1)
    base = rng.normal(size=(20, 8))
    assert cross_level_top1(base, base + 0.01 * rng.normal(size=base.shape)) == 1.0
    assert cross_level_top1(base, rng.normal(size=base.shape)) < 0.3
    assert cross_level_top1(np.ones((4, 2)), np.ones((4, 2))) == pytest.approx(0.25)
    features = {"O0": {"a": base, "b": base}, "O2": {"a": base * 2, "b": base[::-1]}}
    scores = level_retrieval(features, list(range(20)))
    assert scores["a"]["precision_at_1"] == 1.0
    assert set(scores["a"]["pairs"]) == {"O0->O2", "O2->O0"}
    assert scores["b"]["precision_at_1"] < 0.2


def _section() -> dict:
    settings = ["devmap-680 amd", "devmap-680 nvidia"]

    def cells(encoder: float, twins: tuple[float, float]) -> dict:
        return {"encoder": [encoder, encoder], "twin0": [twins[0]] * 2, "twin1": [twins[1]] * 2,
                "program-size": [80.0, 80.0]}

    scores = {shift_label("O0", "O0"): {s: cells(86.0, (85.0, 87.0)) for s in settings},
              shift_label("O2", "O2"): {s: cells(86.0, (86.0, 86.0)) for s in settings},
              shift_label("O0", "O2"): {settings[0]: cells(80.0, (74.0, 76.0)),
                                        settings[1]: cells(60.0, (58.0, 60.0))},
              shift_label("O2", "O0"): {s: cells(72.0, (71.0, 71.0)) for s in settings}}
    pair = {"encoder": 0.2, "twin0": 0.05, "twin1": 0.07, "program-size": 0.005}
    retrieval = {name: {"precision_at_1": v, "pairs": {"O0->O2": v, "O2->O0": v}}
                 for name, v in pair.items()}
    return {"levels": ["O0", "O2"], "pairs": [["O0", "O0"], ["O2", "O2"], ["O0", "O2"],
                                              ["O2", "O0"]],
            "fractions": list(scores), "settings": settings, "twins": ["twin0", "twin1"],
            "controls": ["program-size"], "labels": {}, "seeds": 2, "retrieval": retrieval,
            "packages": {"encoder": "e", "twin0": "t0", "twin1": "t1"}, "scores": scores,
            "note": "a note"}


def test_table_statement_figure_and_report(tmp_path: Path, render_with):
    section = _section()
    markdown = level_shift_markdown(section)
    assert "## Does pre-training's invariance carry to DevMap?" in markdown
    assert ("| trained at O0, tested at O2 | **pre-trained minus twins' mean** | **+5.0** | "
            "**+1.0** |") in markdown
    assert "| pre-trained encoder | 20.0 | 20.0 | 20.0 |" in markdown
    assert "| untrained twins (2) | 6.0 ± 1.4 (5.0–7.0) |" in markdown
    assert "| program size | 0.5 | 0.5 | 0.5 |" in markdown
    drops = shift_drops(section, "encoder")
    assert drops[shift_label("O0", "O2")] == {"devmap-680 amd": 6.0, "devmap-680 nvidia": 26.0}
    assert shift_drops(section, "twins")[shift_label("O2", "O0")]["devmap-680 amd"] == 15.0
    [statement] = level_shift_statements(section)
    assert "trained at O0, tested at O2 +5.0 / +1.0 (points lost to the shift, encoder vs " \
           "twins: 6.0 vs 11.0 / 26.0 vs 27.0)" in statement
    assert statement.endswith("cross-level precision@1 on the same kernels (mean over the pairs "
                              "of O0, O2) 20.0 % against the twins' 6.0 %.")
    assert level_shift_statements({}) == []
    png = draw_level_shift(section, tmp_path / "shift.png")
    assert png.is_file() and png.stat().st_size > 1000
    text = render_with("level_shift", section)
    assert "## Does pre-training's invariance carry to DevMap?" in text
    assert "**optimisation-level shift**" in text
    graph = {**section, "embedding": "graph"}
    assert level_shift_key("graph") == "level_shift_graph"
    assert "another, frozen, graph output)" in level_shift_markdown(graph)
    text = render_with("level_shift_graph", graph)
    assert "**optimisation-level shift, graph output**" in text


def test_the_decision_probe_predicts_held_out_folds_from_the_shifted_features(
        synthetic_decisions, tmp_path: Path, render_with):
    from mirencoder.infra.errors import ConfigError
    from mirencoder.training.evaluation.level_shift import decision_shift_scores
    from mirencoder.training.evaluation.probes.config import ProbeConfig

    rng = np.random.default_rng(3)
    data, yes = synthetic_decisions(120)
    train = {"encoder": rng.standard_normal((120, 4)) + 2.0 * yes,
             "twin0": rng.standard_normal((120, 4)) + 2.0 * yes}
    test = {"encoder": train["encoder"] + 0.1, "twin0": -train["twin0"]}
    config = ProbeConfig(folds=3, fold_repeats=2, min_class_count=2,
                         decision_test_level="O1")
    scores = decision_shift_scores(train, test, data, config)
    same, moved = scores[shift_label("O0", "O0")], scores[shift_label("O0", "O1")]
    setting = "vectorised? (source folds)"
    assert len(same[setting]["encoder"]) == 2
    assert np.mean(same[setting]["twin0"]) > 90 and np.mean(moved[setting]["twin0"]) < 40
    assert np.mean(moved[setting]["encoder"]) > 90
    with pytest.raises(ConfigError, match="decision_test_level must be O0 or O1"):
        ProbeConfig(decision_test_level="O2")
    section = {"levels": ["O0", "O1"], "pairs": [["O0", "O0"], ["O0", "O1"]],
               "fractions": list(scores), "settings": list(same), "twins": ["twin0"],
               "controls": [], "labels": {}, "seeds": 2, "scores": scores, "packages": {},
               "kind": "decisions", "note": ""}
    markdown = level_shift_markdown(section)
    assert "## Does pre-training's invariance carry to the decision probe?" in markdown
    [statement] = level_shift_statements(section)
    assert statement.startswith("**optimisation-level shift of the decision probe**")
    assert "trained at O0, tested at O0 " in statement and "points lost to the shift" in statement
    png = draw_level_shift(section, tmp_path / "d.png")
    assert png.is_file() and png.stat().st_size > 1000
    assert "**optimisation-level shift of the decision probe**" in render_with(
        "level_shift_decisions", section)


def test_retrieval_only_is_printed_and_its_bad_uses_refused(tmp_path: Path, capsys):
    from mirencoder.training.evaluation.level_shift import main

    package = tmp_path / "encoder"
    for extra, words in ((["--report-dir", str(tmp_path)], "drop --report-dir"),
                         (["--max-windows", "0"], "--max-windows must be at least 1")):
        with pytest.raises(SystemExit):
            main([str(package), "--twins", str(package), "--retrieval-only", *extra])
        assert words in capsys.readouterr().err
