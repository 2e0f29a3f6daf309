"""Writing a report figure: the one tail every chart of RESULTS.md shares (no project
imports, so any report module may use it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["save_figure", "legend_below", "legend_strip_height"]


def save_figure(fig: Any, png: Path, dpi: int = 120,
                rect: tuple[float, float, float, float] = (0, 0, 1, 1)) -> Path:
    """A report section's figure: laid out inside ``rect`` (figure fractions; room below or
    beside it for a figure legend), written to ``png`` (folders made, ``dpi``) and closed;
    returns ``png``."""
    import matplotlib.pyplot as plt

    fig.tight_layout(rect=rect)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=dpi)
    plt.close(fig)
    return png


def legend_strip_height(entries: int, columns: int, *, line_in: float = 0.17,
                        pad_in: float = 0.25) -> float:
    """Inches a legend of ``entries`` in ``columns`` needs below the panels: one ``line_in``
    per row plus ``pad_in``; add it to the figure's height so the panels keep theirs."""
    return line_in * -(-entries // max(columns, 1)) + pad_in


def legend_below(fig: Any, handles: list[Any], labels: list[str], *,
                 columns: int | None = None, fontsize: float = 7, line_in: float = 0.17
                 ) -> tuple[float, float, float, float]:
    """A frameless legend centred in a strip at the figure's foot (``columns`` columns, all
    entries on one row when None), the strip (:func:`legend_strip_height`) added to the
    figure's height so the panels keep theirs; returns the ``rect`` that ``save_figure`` lays
    the panels out in above it (the whole figure, unchanged, when there are no ``handles``).
    Grow the figure for anything else (a title strip) before calling it."""
    if not handles:
        return (0, 0, 1, 1)
    columns = columns or len(handles)
    strip_in = legend_strip_height(len(handles), columns, line_in=line_in)
    fig.set_figheight(fig.get_figheight() + strip_in)
    fig.legend(handles, labels, loc="lower center", ncol=columns, fontsize=fontsize,
               frameon=False)
    return (0, strip_in / fig.get_figheight(), 1, 1)
