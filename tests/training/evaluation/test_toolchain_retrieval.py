"""Cross-toolchain retrieval (``toolchain_retrieval.py``): pairing, scoring, report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mirencoder.training.evaluation.devmap_data import DevMapData
from mirencoder.training.evaluation.toolchain_retrieval import kernel_pairs
from mirencoder.training.evaluation.toolchain_retrieval_table import (
    cross_retrieval,
    draw_toolchain_retrieval,
    toolchain_markdown,
    toolchain_statements,
)


def test_kernels_of_both_row_sets_pair_on_their_first_program():
    first = DevMapData(name="a", programs=[], tables={"amd": pd.DataFrame(
        {"benchmark": ["k1", "k1", "k2", "k3"], "program": [3, 1, 0, 2]})})
    second = DevMapData(name="b", programs=[], tables={"amd": pd.DataFrame(
        {"benchmark": ["k3", "k1", "k4"], "program": [0, 1, 2]})})
    kernels, a, b = kernel_pairs(first, second)
    assert kernels == ["k1", "k3"]
    assert a.tolist() == [1, 2] and b.tolist() == [1, 0]


def test_scores_own_version_ranks_and_ties():
    rng = np.random.default_rng(0)
    first = rng.normal(size=(20, 8))
    perfect = cross_retrieval(first, first * 2.0)  # cosine ignores scale
    assert perfect == {"top1": 1.0, "mrr": 1.0, "median_rank": 1.0}
    shuffled = cross_retrieval(first, first[::-1])
    assert shuffled["top1"] < 0.2 and shuffled["median_rank"] > 1
    # all candidates tie: a 20-way tie counts 1/20 at the top and shares ranks 1..20
    tied = cross_retrieval(np.ones((20, 3)), np.ones((20, 3)))
    assert tied["top1"] == pytest.approx(1 / 20) and tied["median_rank"] == pytest.approx(10.5)


def _section() -> dict:
    scores = {"encoder": {"top1": 0.30, "mrr": 0.45, "median_rank": 3.0},
              "twin0": {"top1": 0.26, "mrr": 0.34, "median_rank": 11.0},
              "twin1": {"top1": 0.47, "mrr": 0.58, "median_rank": 2.0},
              "step 250": {"top1": 0.26, "mrr": 0.38, "median_rank": 5.0},
              "opcode-histogram": {"top1": 0.545, "mrr": 0.66, "median_rank": 1.0}}
    return {"kernels": 196, "twins": ["twin0", "twin1"],
            "controls": ["step 250", "opcode-histogram"],
            "labels": {"step 250": "pre-trained encoder, step 250"}, "packages": {},
            "scores": scores, "note": "a note"}


def test_table_statement_figure_and_report(tmp_path: Path, render_with):
    section = _section()
    markdown = toolchain_markdown(section)
    assert "| pre-trained encoder | 30.0 | 0.450 | 3.0 |" in markdown
    assert "| untrained twins (2) | 36.5 ± 14.8 (26.0–47.0) |" in markdown
    assert "| pre-trained encoder, step 250 | 26.0 |" in markdown
    assert "| chance (random ranking) | 0.5 |" in markdown
    [statement] = toolchain_statements(section)
    assert "top-1 30.0 % for the encoder, 36.5 % for its 2 untrained twins (26.0–47.0)" \
           in statement
    assert "54.5 % for the best control (opcode histogram)" in statement
    assert toolchain_statements({}) == []
    png = draw_toolchain_retrieval(section, tmp_path / "t.png")
    assert png.is_file() and png.stat().st_size > 1000
    text = render_with("toolchain_retrieval", section)
    assert "## Does pre-training's invariance carry to another toolchain?" in text
    assert "**cross-toolchain retrieval**" in text
