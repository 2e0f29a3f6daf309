"""Connects to Ray: an embedded local instance by default, or an existing cluster.

``RAY_ADDRESS`` (set by ``ray job submit`` and by users of a cluster) is read here and only
here, as cluster plumbing.

The embedded local instance:

* listens on loopback only. On Linux Ray turns a node address of ``127.0.0.1`` into the
  machine's external address (``services.resolve_ip_for_localhost``) unless multi-node
  clusters are switched off (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, read at import as
  ``ray_constants.ENABLE_RAY_CLUSTER``), and for an external node address ``gcs_server``,
  ``raylet``, workers and the agents bind every interface. Both are set for the session and
  restored after it, the dashboard is off and its host is ``127.0.0.1``.
* dies with its driver, even a SIGKILLed one. Ray itself takes only ``gcs_server`` and
  ``raylet`` down with the driver (``PR_SET_PDEATHSIG``); the raylet's children
  (``ray::DashboardAgent``, ``ray::RuntimeEnvAgent``) stay for a minute or more, trying to
  report the raylet's death to the dead GCS. A watchdog
  (:mod:`mirencoder.infra.process_watchdog`) started before ``ray.init`` ends, once the driver
  is gone, every process carrying this session's token in its environment or writing into
  this session's folder (never another session's). A driver killed inside ``ray.init``, before the session folder is known,
  leaves only what the token finds.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import ConfigError
from .process_watchdog import MARKER_ENV, Watchdog
from .reachability import tcp_problem

__all__ = ["ray_session", "check_cluster", "cluster_address", "unreachable",
           "LOOPBACK"]

LOOPBACK = "127.0.0.1"
_NO_CLUSTER_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
# Ray (2.5x) turns token authentication on for every new local instance and says so, with
# how to opt out, at WARNING on each start: it stays on here, and the line is not shown.
_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[dict]:
    """Yields a connected Ray; shuts down only an instance it started itself.

    Args:
        address: ``auto``, ``host:port`` or ``ray://...``; None uses ``RAY_ADDRESS`` when set,
            else starts a new local Ray with ``num_cpus`` (default: all cores), bound to
            ``127.0.0.1`` and ended with its driver (see the module docstring), even when a
            ``ray start`` cluster runs on the machine (``auto`` joins that one). Callers check
            a cluster address with :func:`check_cluster` before their own work.

    Yields:
        ``{"address": ..., "started_locally": bool, "cpus": float}``.
    """
    import ray

    if ray.is_initialized():
        yield {"address": "existing", "started_locally": False,
               "cpus": ray.cluster_resources().get("CPU", 0.0)}
        return
    address = cluster_address(address)
    kwargs = {"logging_level": logging.WARNING, "log_to_driver": True}
    if address:
        ray.init(address=address, **kwargs)
        try:
            yield {"address": address, "started_locally": False,
                   "cpus": ray.cluster_resources().get("CPU", 0.0)}
        finally:
            ray.shutdown()
        return
    watchdog = Watchdog.start()
    try:
        with _env(MARKER_ENV, watchdog.token), _loopback_only(), _quiet(_AUTH_LOGGER):
            # "local": always a new instance of our own, never the latest `ray start` cluster
            # of the machine that ray.init() would join without an address (nor a dead one
            # whose address file a killed cluster left behind).
            context = ray.init(address="local", num_cpus=num_cpus or os.cpu_count(),
                               include_dashboard=False,
                               dashboard_host=LOOPBACK, _node_ip_address=LOOPBACK, **kwargs)
            try:
                session_dir = context.address_info.get("session_dir") or ""
                if os.path.basename(session_dir).startswith("session_"):
                    watchdog.add_folder(session_dir)
                yield {"address": "local", "started_locally": True,
                       "cpus": ray.cluster_resources().get("CPU", 0.0)}
            finally:
                ray.shutdown()
    finally:
        watchdog.stop()


def cluster_address(address: str | None) -> str | None:
    """The cluster a session joins: ``address``, else ``RAY_ADDRESS`` when set, else None (a new
    embedded local Ray)."""
    return address or os.environ.get("RAY_ADDRESS") or None


def check_cluster(address: str | None) -> None:
    """Before any work: a cluster address (``address``, else ``RAY_ADDRESS``) nothing answers at
    is a ConfigError naming it, where Ray would retry it for minutes.

    Raises:
        ConfigError: from :func:`unreachable`.
    """
    address = cluster_address(address)
    if address and (problem := unreachable(address)):
        raise ConfigError(problem)


def unreachable(address: str, timeout_s: float = 5.0) -> str | None:
    """Why no Ray cluster can answer at ``address`` (``host:port`` or ``ray://host[:port]``),
    or None when its port accepts a connection (``auto`` and other forms are left to Ray).

    Ray itself retries a dead address for minutes, printing only its own warnings.
    """
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host:
        host, port = (target, "10001") if address.startswith("ray://") else ("", "")
    if not host or not port.isdigit():
        return None
    if (problem := tcp_problem(host.strip("[]"), int(port), timeout_s)) is None:  # [::1]:port
        return None
    return (f"no Ray cluster answers at {address} ({problem}); start one "
            "(`ray start --head`, or `ray up ray_cluster.yaml`) or leave the address out "
            "for the embedded local Ray")


@contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Shows only errors of ``logger_name`` while the block runs."""
    logger = logging.getLogger(logger_name)
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


@contextmanager
def _loopback_only() -> Iterator[None]:
    """Ray keeps ``127.0.0.1`` as the node address (in this process and in the processes it
    starts) while the block runs."""
    from ray._private import ray_constants

    # Read at call time by services.get_node_ip_address; the variable alone is read at import.
    previous = getattr(ray_constants, "ENABLE_RAY_CLUSTER", None)
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        with _env(_NO_CLUSTER_ENV, "0"):
            yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = previous
