"""Writing a report figure: the one tail every chart of RESULTS.md shares (no project
imports, so any report module may use it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["save_figure"]


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
