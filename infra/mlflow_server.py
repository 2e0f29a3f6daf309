"""Starts and stops a real MLflow tracking server (tracking + registry + artifacts) on loopback.

Backend: SQLite by default (``<root>/mlflow.db``); any SQLAlchemy URI MLflow accepts, e.g.
``postgresql://user:pass@host:5432/mlflow`` (needs ``psycopg2`` installed). Artifacts are served
by the server itself (``--serve-artifacts``) from ``<root>/mlartifacts`` (or
``--artifact-root``), so clients need nothing but the ``http://`` URI.

As a context manager::

    with MlflowServer(ServerConfig(root="runs/mlflow-server")) as server:
        register_encoder(package, tracking_uri=server.uri)

or as a command: ``python -m mirencoder.infra.mlflow_server --port 5000`` (runs until Ctrl-C,
SIGTERM or SIGHUP and prints the ``MLFLOW_TRACKING_URI`` to export; ``--config FILE``,
``--set key=value`` and ``--dry-run`` as for every command). Every wait is bounded.

Stopping: ``mlflow server`` and its uvicorn workers run in their own process group, which
:meth:`MlflowServer.stop` ends as a whole (SIGTERM, SIGKILL after ``stop_timeout_s``); the
command stops it on SIGTERM, SIGINT and SIGHUP, and a watchdog
(:mod:`mirencoder.infra.process_watchdog`) ends it when the launcher itself is SIGKILLed.

Exposure: the server has no authentication, so it binds loopback unless ``--allow-remote``
(``allow_remote: true``) is given together with another ``--host``; it then prints a warning.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .config import add_config_arguments, add_shorthand, config_from_args, print_if_dry_run
from .config import help_field as _f
from .errors import ConfigError, FatalError
from .process_watchdog import Watchdog
from .tracking import runs_dir, sqlite_uri

__all__ = ["ServerConfig", "MlflowServer", "free_port", "is_loopback", "main", "port_in_use"]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


@dataclass(kw_only=True, slots=True)
class ServerConfig:
    """Settings of one tracking server."""

    root: str = _f("", "folder for the default SQLite database, artifacts and the log "
                       "(default: <repo>/runs/mlflow-server)")
    backend_store_uri: str = _f("", "sqlite:///... or postgresql://... (default: <root>/mlflow.db)")
    artifact_root: str = _f("", "where served artifacts are stored (default: <root>/mlartifacts)")
    host: str = _f("127.0.0.1", "interface to bind (loopback by default; another one needs "
                                "allow_remote)")
    allow_remote: bool = _f(False, "allow a non-loopback host: anyone who reaches it can read "
                                   "and change the registry (no authentication)")
    port: int = _f(0, "TCP port (0: a free one)")
    workers: int = _f(1, "server worker processes")
    start_timeout_s: float = _f(90.0, "longest wait for the server to answer /health")
    stop_timeout_s: float = _f(15.0, "longest wait for a graceful stop before SIGKILL")

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.port <= 65535:
            problems.append(f"port {self.port} outside 0..65535")
        if self.workers < 1:
            problems.append("workers must be >= 1")
        if self.start_timeout_s <= 0 or self.stop_timeout_s <= 0:
            problems.append("timeouts must be > 0")
        if not self.allow_remote and not is_loopback(self.host):
            problems.append(f"host {self.host!r} is not loopback: the server has no "
                            "authentication; pass --allow-remote (allow_remote: true) to serve "
                            "other machines")
        if self.backend_store_uri and "://" not in self.backend_store_uri:
            problems.append(f"backend_store_uri {self.backend_store_uri!r} is not a URI "
                            "(sqlite:///path.db or postgresql://...)")
        if problems:
            raise ConfigError(problems)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(host: str, port: int) -> str | None:
    """Why this process cannot listen on ``host:port`` (the system's words), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as error:
            return error.strerror or str(error)
    return None


class MlflowServer:
    """A ``mlflow server`` subprocess with its own process group.

    Args:
        config: the server settings.
    """

    def __init__(self, config: ServerConfig | None = None):
        self.config = config or ServerConfig()
        root = Path(self.config.root) if self.config.root else runs_dir() / "mlflow-server"
        self.root = root.resolve()
        self.port = self.config.port or 0
        self.process: subprocess.Popen | None = None
        self.log_path = self.root / "server.log"
        self._log_start = 0  # where this start's lines begin in the (appended) log
        self._watchdog: Watchdog | None = None

    @property
    def backend_store_uri(self) -> str:
        return self.config.backend_store_uri or sqlite_uri(self.root / "mlflow.db")

    @property
    def artifact_root(self) -> Path:
        return (Path(self.config.artifact_root) if self.config.artifact_root
                else self.root / "mlartifacts").resolve()

    @property
    def uri(self) -> str:
        """The tracking URI clients use (``http://127.0.0.1:PORT``)."""
        return f"http://{self.config.host}:{self.port}"

    def command(self) -> list[str]:
        """The server's argv (no shell)."""
        return [sys.executable, "-m", "mlflow", "server",
                "--backend-store-uri", self.backend_store_uri,
                "--serve-artifacts", "--artifacts-destination", str(self.artifact_root),
                "--host", self.config.host, "--port", str(self.port),
                "--workers", str(self.config.workers)]

    def start(self) -> MlflowServer:
        """Starts the server and waits (bounded) until ``/health`` answers.

        Raises:
            FatalError: the server exited or did not answer in time (the log tail is shown).
        """
        if self.process is not None:
            return self
        self.root.mkdir(parents=True, exist_ok=True)
        self.artifact_root.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port(self.config.host)
        elif problem := port_in_use(self.config.host, self.port):
            raise FatalError(f"cannot serve on {self.config.host}:{self.port}: {problem}; "
                             "choose another --port (0: a free one)")
        self._log_start = self.log_path.stat().st_size if self.log_path.is_file() else 0
        # The registry needs no server-side job runner (it forks seven huey consumers).
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        env.pop("MLFLOW_TRACKING_URI", None)
        # Ends the server's processes should this process die without calling stop().
        self._watchdog = Watchdog.start()
        env.update(self._watchdog.marker)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=env, cwd=self.root,
                                            start_new_session=True)
        deadline = time.monotonic() + self.config.start_timeout_s
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                self.stop()
                raise FatalError(f"mlflow server exited at start-up (code {code}):\n"
                                 f"{self._log_tail()}")
            if self.healthy(timeout_s=2.0):
                return self
            time.sleep(0.3)
        tail = self._log_tail()
        self.stop()
        raise FatalError(f"mlflow server did not answer {self.uri}/health within "
                         f"{self.config.start_timeout_s:.0f} s:\n{tail}")

    def healthy(self, timeout_s: float = 2.0) -> bool:
        """True when ``/health`` answers 200."""
        try:
            with urllib.request.urlopen(self.uri + "/health", timeout=timeout_s) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """SIGTERM to the server's process group (``mlflow server`` and its uvicorn workers),
        SIGKILL after ``stop_timeout_s`` to what is left of it."""
        process, self.process = self.process, None
        watchdog, self._watchdog = self._watchdog, None
        try:
            if process is not None:
                _end_group(process, self.config.stop_timeout_s)
        finally:
            if watchdog is not None:
                watchdog.stop()

    def _log_tail(self, lines: int = 25) -> str:
        """The last ``lines`` this start wrote to the log (earlier starts' lines left out)."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_start)
                text = log.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(nothing logged)"

    def __enter__(self) -> MlflowServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _group_alive(pgid: int) -> bool:
    """True while a process of group ``pgid`` runs (zombies, which an init that does not reap
    may keep for ever, do not count)."""
    import psutil

    for process in psutil.process_iter(["status"]):
        try:
            if (os.getpgid(process.pid) == pgid
                    and process.info["status"] != psutil.STATUS_ZOMBIE):
                return True
        except (OSError, psutil.Error):
            continue
    return False


def _end_group(process: subprocess.Popen, timeout_s: float) -> None:
    """SIGTERM to the process group led by ``process``, then SIGKILL to the group once
    ``timeout_s`` has passed with any member (the leader or a worker) still alive."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout_s)
    while _group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _group_alive(process.pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


class _Stop(Exception):
    """A stop signal (SIGTERM, SIGHUP) received by the command."""


def _raise_stop(signum: int, frame) -> None:
    raise _Stop(signal.Signals(signum).name)


_COMMAND_PORT = 5000


def main(argv: list[str] | None = None) -> int:
    """``python -m mirencoder.infra.mlflow_server``: serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m mirencoder.infra.mlflow_server",
                                     description=__doc__.splitlines()[0])
    add_config_arguments(parser, ServerConfig, config_help="YAML file of server settings")
    for name in ServerConfig.__dataclass_fields__:
        if name == "allow_remote":
            add_shorthand(parser, ServerConfig, name, "--allow-remote", const="true")
            continue
        add_shorthand(parser, ServerConfig, name, "--" + name.replace("_", "-"), metavar="V",
                      help=f"TCP port (0: a free one; {_COMMAND_PORT} for this command)"
                      if name == "port" else None)
    args = parser.parse_args(argv)
    try:
        # A served registry gets a fixed, well-known port unless told otherwise.
        config = config_from_args(ServerConfig, args, base={"port": _COMMAND_PORT})
    except ConfigError as error:
        print(f"mlflow_server: {error}", file=sys.stderr)
        return 1
    if print_if_dry_run(config, args, "resolved tracking-server configuration"):
        return 0
    if not is_loopback(config.host):
        print(f"mlflow_server: warning: listening on {config.host}: anyone who can reach this "
              "machine can read and change the registry (the server has no authentication)",
              file=sys.stderr)
    server = MlflowServer(config)
    # SIGTERM (kill PID) and SIGHUP (a closed terminal) stop the server as Ctrl-C does.
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        server.start()
        print(f"MLflow server on {server.uri} (backend {server.backend_store_uri}, artifacts "
              f"{server.artifact_root}); log: {server.log_path}")
        print(f"export MLFLOW_TRACKING_URI={server.uri}", flush=True)
        while server.process is not None and server.process.poll() is None:
            time.sleep(1.0)
    except FatalError as error:
        print(f"mlflow_server: {error}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        # A second signal must not interrupt the clean-up itself.
        previous[signal.SIGINT] = signal.getsignal(signal.SIGINT)
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        try:
            server.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
