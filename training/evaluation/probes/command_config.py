"""Settings of ``mirencoder eval probes``: the suite's own settings plus where results go."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .config import ProbeConfig, repo_root

__all__ = ["ProbesEvalConfig"]


@dataclass(kw_only=True)
class ProbesEvalConfig:
    """The probe suite, the untrained twin it is compared with, and the report folder."""

    probes: ProbeConfig = field(default_factory=ProbeConfig)
    """Data, held-out selection, sample sizes, protocol and methods of the suite."""
    twin_seed: int = 0
    """Seed of the untrained twin made from ``probes.model`` when ``probes.untrained_model``
    is ``auto``."""
    out_dir: Path = field(default_factory=lambda: repo_root() / "runs" / "eval" / "probes")
    """Where ``probes.json``, ``PROBES.md`` and ``probes.png`` are written."""
    report_dir: Path | None = None
    """Also merge the results into ``REPORT/results/summary.json`` (key ``probes``) and
    regenerate ``REPORT/RESULTS.md`` (section "Representation probes", probe targets)."""
