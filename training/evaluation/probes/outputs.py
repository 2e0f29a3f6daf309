"""The files a probe run leaves in its folder: results, report and chart."""

from __future__ import annotations

from pathlib import Path

from .plot import plot_probes
from .report import probes_markdown
from .results import ProbeResults

__all__ = ["write_probe_outputs"]


def write_probe_outputs(results: ProbeResults, out_dir: Path) -> list[Path]:
    """``probes.json``, ``PROBES.md`` and ``probes.png`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "probes.json", out_dir / "PROBES.md", out_dir / "probes.png"]
    results.write_json(paths[0])
    paths[1].write_text(probes_markdown(results))
    plot_probes(results, paths[2])
    return paths
