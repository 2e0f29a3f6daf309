"""Starts and stops a real MLflow tracking server (tracking + registry + artifacts) on loopback.

Backend: SQLite by default (``<root>/mlflow.db``); any SQLAlchemy URI MLflow accepts, e.g.
``postgresql://user:pass@host:5432/mlflow`` (needs ``psycopg2`` installed). Artifacts are served
by the server itself (``--serve-artifacts``) from ``<root>/mlartifacts`` (or
``--artifact-root``), so clients need nothing but the ``http://`` URI.

As a context manager::

    with MlflowServer(ServerConfig(root="runs/mlflow-server")) as server:
        register_encoder(package, tracking_uri=server.uri)

or as a command: ``python -m mirencoder.infra.mlflow_server --port 5000`` (runs until Ctrl-C
and prints the ``MLFLOW_TRACKING_URI`` to export; ``--config FILE``, ``--set key=value`` and
``--dry-run`` as for every command). Every wait is bounded.
"""

from __future__ import annotations

import argparse
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
from .tracking import runs_dir, sqlite_uri

__all__ = ["ServerConfig", "MlflowServer", "free_port", "main"]


@dataclass(kw_only=True, slots=True)
class ServerConfig:
    """Settings of one tracking server."""

    root: str = _f("", "folder for the default SQLite database, artifacts and the log "
                       "(default: <repo>/runs/mlflow-server)")
    backend_store_uri: str = _f("", "sqlite:///... or postgresql://... (default: <root>/mlflow.db)")
    artifact_root: str = _f("", "where served artifacts are stored (default: <root>/mlartifacts)")
    host: str = _f("127.0.0.1", "interface to bind (loopback by default)")
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
        # The registry needs no server-side job runner (it forks seven huey consumers).
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        env.pop("MLFLOW_TRACKING_URI", None)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=env, cwd=self.root,
                                            start_new_session=True)
        deadline = time.monotonic() + self.config.start_timeout_s
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                self.process = None
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
        """SIGTERM to the server's process group, SIGKILL after ``stop_timeout_s``."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=self.config.stop_timeout_s)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)

    def _log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> MlflowServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


_COMMAND_PORT = 5000


def main(argv: list[str] | None = None) -> int:
    """``python -m mirencoder.infra.mlflow_server``: serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m mirencoder.infra.mlflow_server",
                                     description=__doc__.splitlines()[0])
    add_config_arguments(parser, ServerConfig, config_help="YAML file of server settings")
    for name in ServerConfig.__dataclass_fields__:
        add_shorthand(parser, ServerConfig, name, "--" + name.replace("_", "-"), metavar="V",
                      help=f"TCP port (0: a free one; {_COMMAND_PORT} for this command)"
                      if name == "port" else None)
    args = parser.parse_args(argv)
    try:
        # A served registry gets a fixed, well-known port unless told otherwise.
        config = config_from_args(ServerConfig, args, base={"port": _COMMAND_PORT})
        if print_if_dry_run(config, args, "resolved tracking-server configuration"):
            return 0
        server = MlflowServer(config)
        server.start()
    except (FatalError, ConfigError) as error:
        print(f"mlflow_server: {error}", file=sys.stderr)
        return 1
    print(f"MLflow server on {server.uri} (backend {server.backend_store_uri}, artifacts "
          f"{server.artifact_root}); log: {server.log_path}")
    print(f"export MLFLOW_TRACKING_URI={server.uri}", flush=True)
    try:
        while server.process is not None and server.process.poll() is None:
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
