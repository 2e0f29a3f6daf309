"""Where the studies beyond the protocols live beside RESULTS.md: ``STUDIES.md`` (their index)
and one page per study section under ``studies/``, named after the section's summary key."""

from __future__ import annotations

__all__ = ["STUDIES_FILE", "STUDIES_DIR", "study_page"]

STUDIES_FILE = "STUDIES.md"
"""The studies' index, beside RESULTS.md."""
STUDIES_DIR = "studies"
"""The folder beside RESULTS.md with one page per study section (a generated folder)."""


def study_page(key: str) -> str:
    """The page of the study section stored under summary ``key``, relative to RESULTS.md
    (``level_shift_graph`` -> ``studies/level-shift-graph.md``)."""
    return f"{STUDIES_DIR}/{key.replace('_', '-')}.md"
