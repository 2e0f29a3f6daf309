"""The shared figure tail: a legend strip below the panels and the saved PNG."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirencoder.training.evaluation.figures import legend_below, legend_strip_height, save_figure


def test_legend_strip_height_counts_rows_of_entries() -> None:
    assert legend_strip_height(5, 2) == pytest.approx(0.17 * 3 + 0.25)
    assert legend_strip_height(4, 4, line_in=0.2, pad_in=0.1) == pytest.approx(0.3)
    assert legend_strip_height(3, 0) == pytest.approx(0.17 * 3 + 0.25)  # no columns: one each


def test_legend_below_adds_its_strip_to_the_figure_and_saves(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 5))
    ax.plot([0, 1], [0, 1], label="a")
    ax.plot([0, 1], [1, 0], label="b")
    handles, labels = ax.get_legend_handles_labels()
    rect = legend_below(fig, handles, labels, columns=2)
    strip = legend_strip_height(2, 2)  # one row of two entries
    # the panels keep their 5 inches; the strip below them is added to the figure
    assert fig.get_figheight() == pytest.approx(5 + strip)
    assert rect == pytest.approx((0, strip / (5 + strip), 1, 1))
    fig2, ax2 = plt.subplots(figsize=(4, 5))  # all entries on one row unless told otherwise
    for name in "abc":
        ax2.plot([0, 1], [0, 1], label=name)
    legend_below(fig2, *ax2.get_legend_handles_labels(), line_in=0.3)
    assert fig2.get_figheight() == pytest.approx(5 + legend_strip_height(3, 3, line_in=0.3))
    plt.close(fig2)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["a", "b"]
    png = save_figure(fig, tmp_path / "sub" / "f.png", rect=rect)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_legend_below_without_handles_keeps_the_whole_figure() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, _ = plt.subplots(figsize=(4, 3))
    assert legend_below(fig, [], []) == (0, 0, 1, 1)
    assert not fig.legends and fig.get_figheight() == pytest.approx(3)
    plt.close(fig)
