"""The shared figure tail: a legend strip below the panels and the saved PNG."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirencoder.training.evaluation.figures import legend_below, legend_strip_height, save_figure


def test_legend_strip_height_counts_rows_of_entries() -> None:
    assert legend_strip_height(5, 2) == pytest.approx(0.17 * 3 + 0.25)
    assert legend_strip_height(4, 4, line_in=0.2, pad_in=0.1) == pytest.approx(0.3)
    assert legend_strip_height(3, 0) == pytest.approx(0.17 * 3 + 0.25)  # no columns: one each


def test_legend_below_reserves_its_strip_and_saves(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 5))
    ax.plot([0, 1], [0, 1], label="a")
    ax.plot([0, 1], [1, 0], label="b")
    handles, labels = ax.get_legend_handles_labels()
    rect = legend_below(fig, handles, labels, 0.5, columns=2)
    assert rect == pytest.approx((0, 0.1, 1, 1))
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["a", "b"]
    png = save_figure(fig, tmp_path / "sub" / "f.png", rect=rect)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_legend_below_without_handles_keeps_the_whole_figure() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, _ = plt.subplots()
    assert legend_below(fig, [], [], 0.4) == (0, 0, 1, 1)
    assert not fig.legends
    plt.close(fig)
