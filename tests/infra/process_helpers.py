"""Process checks shared by the infra tests that start and stop real process trees."""

from __future__ import annotations

import psutil


def alive(pid: int, created: float) -> bool:
    """True while the process ``pid`` started at ``created`` exists and is not a zombie (an
    init that does not reap would otherwise keep a dead child "alive")."""
    try:
        process = psutil.Process(pid)
        return process.create_time() == created and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
