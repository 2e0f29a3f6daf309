"""Connects to Ray: an embedded local instance by default, or an existing cluster.

``RAY_ADDRESS`` (set by ``ray job submit`` and by users of a cluster) is read here and only
here, as cluster plumbing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ray_session"]


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[dict]:
    """Yields a connected Ray; shuts down only an instance it started itself.

    Args:
        address: ``auto``, ``host:port`` or ``ray://...``; None uses ``RAY_ADDRESS`` when set,
            else starts a local Ray with ``num_cpus`` (default: all cores).

    Yields:
        ``{"address": ..., "started_locally": bool, "cpus": float}``.
    """
    import ray

    if ray.is_initialized():
        yield {"address": "existing", "started_locally": False,
               "cpus": ray.cluster_resources().get("CPU", 0.0)}
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    kwargs = {"logging_level": logging.WARNING, "log_to_driver": True}
    if address:
        ray.init(address=address, **kwargs)
    else:
        ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, **kwargs)
    try:
        yield {"address": address or "local", "started_locally": not address,
               "cpus": ray.cluster_resources().get("CPU", 0.0)}
    finally:
        ray.shutdown()
