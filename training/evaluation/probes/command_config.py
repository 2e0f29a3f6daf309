"""Settings of ``mirencoder eval probes``: the suite's own settings plus where results go."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ....infra.errors import ConfigError
from .config import ProbeConfig, repo_root
from .twin import twin_choice

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
    add_rows: bool = False
    """With ``report_dir``: add this run's methods to the probe rows the report holds instead
    of replacing them (same programs and settings, or refused; ``probes/add_rows.py``): a new
    control beside an encoder probed on another machine. No encoder rows (``--model``)."""

    def __post_init__(self) -> None:
        problems = []
        if self.add_rows and self.report_dir is None:
            problems.append("add_rows merges into a report: give --report-dir")
        if self.add_rows and (self.probes.model or twin_choice(self.probes.untrained_model)
                              not in (None, "auto")):
            problems.append("add_rows adds controls to recorded rows; the encoder rows come "
                            "from one run: give no --model and no --untrained-model")
        if problems:
            raise ConfigError(problems)
