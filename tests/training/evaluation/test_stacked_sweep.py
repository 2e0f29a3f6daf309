"""The stacked-head settings diagnostic (``stacked_sweep.py``): parsing, scoring, report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mirencoder.training.evaluation.stacked_sweep import parse_head_settings, score_head_setting
from mirencoder.training.evaluation.stacked_sweep_table import (
    draw_stacked_sweep,
    stacked_sweep_markdown,
    stacked_sweep_statements,
    sweep_gaps,
)


def test_head_settings_parse_and_bad_ones_are_named():
    assert parse_head_settings("500:0.01:64, 30:0.3:16") == [
        {"probe_epochs": 500, "weight_decay": 0.01, "hidden": 64},
        {"probe_epochs": 30, "weight_decay": 0.3, "hidden": 16}]
    for bad, words in [("500:0.01", "EPOCHS:WEIGHT_DECAY:HIDDEN"), ("a:b:c", "'a:b:c'"),
                       ("0:0.01:64", "at least 1 epoch"), ("10:5:64", "weight_decay"),
                       ("", "no head setting")]:
        with pytest.raises(ValueError, match=words):
            parse_head_settings(bad)


def test_a_feature_that_decides_the_device_scores_above_noise(synthetic_devmap):
    """Rows of 24 kernels at 6 data sizes: the device flips at a transfer threshold set by a
    program property; the feature set that holds it must beat one of pure noise."""
    data, features = synthetic_devmap(24)
    scores = score_head_setting(data, features, "amd",
                                {"probe_epochs": 60, "weight_decay": 0.01, "hidden": 16},
                                seeds=2, n_splits=4)
    assert set(scores) == {"informative", "noise"}
    assert all(len(v) == 2 and all(0 <= a <= 100 for a in v) for v in scores.values())
    assert np.mean(scores["informative"]) > np.mean(scores["noise"]) + 5


def _section() -> dict:
    settings = ["devmap-669 amd", "devmap-680 nvidia"]
    scores = {"500 epochs, wd 0.01, 64 units": {
                  "devmap-669 amd": {"encoder": [90.0, 92.0], "twin0": [87.0, 87.0],
                                     "twin1": [89.0, 89.0], "runtime-only": [91.0, 91.0]},
                  "devmap-680 nvidia": {"encoder": [85.0, 85.0], "twin0": [86.0, 86.0],
                                        "twin1": [84.0, 84.0], "runtime-only": [84.0, 84.2]}},
              "30 epochs, wd 0.01, 64 units": {
                  "devmap-669 amd": {"encoder": [93.0], "twin0": [90.0], "twin1": [90.0]},
                  "devmap-680 nvidia": {"encoder": [88.0], "twin0": [86.0], "twin1": [85.0]}}}
    return {"settings": settings, "twins": ["twin0", "twin1"], "controls": ["runtime-only"],
            "packages": {"encoder": "e", "twin0": "t0", "twin1": "t1"}, "scores": scores,
            "note": "a note"}


def test_gaps_table_statement_and_figure(tmp_path: Path):
    section = _section()
    gaps = sweep_gaps(section)
    assert gaps["500 epochs, wd 0.01, 64 units"] == {"devmap-669 amd": 3.0,
                                                     "devmap-680 nvidia": 0.0}
    assert gaps["30 epochs, wd 0.01, 64 units"]["devmap-680 nvidia"] == pytest.approx(2.5)
    markdown = stacked_sweep_markdown(section)
    assert "| 500 epochs, wd 0.01, 64 units | **pre-trained minus twins' mean** | **+3.0** | " \
           "**+0.0** |" in markdown
    assert "| 500 epochs, wd 0.01, 64 units | untrained twins (2) | 88.0 ± 1.4 (87.0–89.0) |" \
           in markdown
    assert "| 30 epochs, wd 0.01, 64 units | run-time inputs only |" not in markdown  # no value
    [statement] = stacked_sweep_statements(section)
    assert "ranges from +0.0 to +3.0 points" in statement
    assert "+2 on every setting under 30 epochs, wd 0.01, 64 units" in statement
    png = draw_stacked_sweep(section, tmp_path / "sweep.png")
    assert png.is_file() and png.stat().st_size > 1000
    assert stacked_sweep_statements({}) == []


def test_the_report_renders_the_section(render_with):
    text = render_with("stacked_sweep", _section())
    assert "## Does the stacked head's setting decide pre-training's gap?" in text
    assert "**stacked head settings**" in text
