"""How many CPUs this process may use, and the ``0 = one per usable CPU`` convention of the
``workers`` / ``n_jobs`` settings."""

from __future__ import annotations

import os

__all__ = ["available_cpus", "resolve_workers"]


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def resolve_workers(workers: int) -> int:
    """``workers`` threads, or one per usable CPU for 0."""
    return workers if workers > 0 else available_cpus()
