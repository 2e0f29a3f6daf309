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


def legend_below(fig: Any, handles: list[Any], labels: list[str], strip_in: float, *,
                 columns: int | None = None, fontsize: float = 7
                 ) -> tuple[float, float, float, float]:
    """A frameless legend centred in a ``strip_in``-inch strip at the figure's foot
    (``columns`` columns, all entries on one row when None); returns the ``rect`` that
    ``save_figure`` lays the panels out in above it (the whole figure when there are no
    ``handles``)."""
    if not handles:
        return (0, 0, 1, 1)
    fig.legend(handles, labels, loc="lower center", ncol=columns or len(handles),
               fontsize=fontsize, frameon=False)
    return (0, strip_in / fig.get_figheight(), 1, 1)
