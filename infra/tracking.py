"""Where MLflow tracking, the model registry and the local model cache live.

The environment is read here and nowhere else (cluster plumbing only):

* ``MLFLOW_TRACKING_URI`` — when set, it wins (an ``http://`` server, a ``sqlite:///`` file,
  a ``postgresql://`` database);
* otherwise the default is a SQLite database under the project's data folder,
  ``sqlite:///<repo>/runs/mlflow.db`` (MLflow 3 rejects the plain ``./mlruns`` file store);
* ``MIRENCODER_CACHE_DIR`` — where pulled models are cached (default ``<repo>/runs/cache``).

``<repo>`` is the source checkout when the package runs from one (editable install), else the
current working directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["code_version", "DEFAULT_EXPERIMENT", "project_root", "runs_dir", "default_tracking_uri",
           "resolve_tracking_uri", "model_cache_dir", "sqlite_uri", "ensure_experiment",
           "using_tracking_uri", "store_problem", "check_store"]

# The experiment that registry-only runs (a package registered without a training run) go to.
DEFAULT_EXPERIMENT = "mirencoder"


def project_root() -> Path:
    """The repository root of a source checkout, else the current working directory."""
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").exists() and (here / "training").is_dir():
        return here
    return Path.cwd()


def runs_dir() -> Path:
    """The project's data folder for runs, databases and caches (``<repo>/runs``)."""
    return project_root() / "runs"


def sqlite_uri(path: str | Path) -> str:
    """A SQLite tracking URI for a database file (absolute path)."""
    return f"sqlite:///{Path(path).resolve()}"


def default_tracking_uri() -> str:
    """``sqlite:///<repo>/runs/mlflow.db`` (the folder is created on demand)."""
    folder = runs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return sqlite_uri(folder / "mlflow.db")


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The tracking URI to use: the explicit ``uri``, else ``MLFLOW_TRACKING_URI``, else the default.

    Args:
        uri: an explicit URI (a CLI flag or a config field); empty or None means "not given".

    Returns:
        A URI MLflow accepts; a bare filesystem path to a ``.db`` file becomes a SQLite URI.
    """
    chosen = uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()
    if "://" not in chosen and chosen.endswith((".db", ".sqlite")):
        chosen = sqlite_uri(chosen)
    return chosen


_SQLITE_HEADER = b"SQLite format 3\x00"


def _sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (``sqlite:////abs`` or ``sqlite:///relative``,
    query left out), or None for another store."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///").split("?", 1)[0])


# The tracking and registry stores MLflow can open (mlflow.tracking.registry's list).
_STORE_SCHEMES = frozenset({"file", "sqlite", "http", "https", "postgresql", "mysql", "mssql",
                            "databricks", "databricks-uc", "uc"})


def store_problem(uri: str, timeout_s: float = 5.0) -> str | None:
    """Why the tracking store at ``uri`` cannot serve (a server that does not answer, a file
    that is not an SQLite database), or None; asked before any work, since MLflow retries an
    absent server for minutes and shows a damaged file as a database traceback."""
    from urllib.parse import urlsplit

    from .reachability import tcp_problem

    if (path := _sqlite_path(uri)) is not None:
        if path.is_file() and path.stat().st_size:
            with open(path, "rb") as handle:
                if handle.read(len(_SQLITE_HEADER)) != _SQLITE_HEADER:
                    return f"{path} is not an SQLite database (the MLflow store of {uri})"
        return None
    parts = urlsplit(uri)
    scheme = parts.scheme.split("+")[0].lower()  # postgresql+psycopg2 -> postgresql
    if len(scheme) > 1 and scheme not in _STORE_SCHEMES:  # one letter: a Windows drive
        return (f"MLflow cannot keep runs at {uri}: the scheme {parts.scheme!r} is not one of "
                f"{', '.join(sorted(_STORE_SCHEMES))} (a plain path is a file store); e.g. "
                "sqlite:///runs/mlflow.db or http://127.0.0.1:5000")
    if parts.scheme in ("http", "https") and parts.hostname:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if problem := tcp_problem(parts.hostname, port, timeout_s):
            return (f"no MLflow server answers at {uri} ({problem}); start one with `python -m "
                    "mirencoder.infra.mlflow_server` or set MLFLOW_TRACKING_URI")
    return None


def check_store(uri: str) -> str:
    """``uri`` when :func:`store_problem` finds nothing.

    Raises:
        FatalError: naming what is wrong with the store.
    """
    from .errors import FatalError

    if problem := store_problem(uri):
        raise FatalError(problem)
    return uri


def model_cache_dir() -> Path:
    """Where pulled registry models are cached (``<repo>/runs/cache/models``)."""
    root = os.environ.get("MIRENCODER_CACHE_DIR")
    return (Path(root) if root else runs_dir() / "cache") / "models"


def _artifact_root_for(tracking_uri: str) -> str | None:
    """Artifacts of a SQLite store live beside the database (``<db folder>/mlartifacts``).

    MLflow's own default is ``./mlruns`` under the *current directory*, which scatters
    artifacts wherever a command happens to run. Servers (``http``) choose their own root.
    """
    db = _sqlite_path(tracking_uri)
    return None if db is None else (db.resolve().parent / "mlartifacts").as_uri()


def ensure_experiment(name: str = DEFAULT_EXPERIMENT, tracking_uri: str | None = None) -> str:
    """The id of experiment ``name``, created when missing with a well-placed artifact root.

    Args:
        name: experiment name.
        tracking_uri: the store (default: :func:`resolve_tracking_uri`).

    Returns:
        The experiment id.
    """
    from mlflow import MlflowClient

    uri = check_store(resolve_tracking_uri(tracking_uri))
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(name, artifact_location=_artifact_root_for(uri))
    except Exception:  # noqa: BLE001 - a concurrent creator won the race
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


@contextmanager
def using_tracking_uri(uri: str | None = None) -> Iterator[str]:
    """Points MLflow's fluent API (tracking and registry) at ``uri`` for the block, then restores.

    ``mlflow.set_tracking_uri``/``set_registry_uri`` also export ``MLFLOW_TRACKING_URI`` and
    ``MLFLOW_REGISTRY_URI``; globals and environment are both put back afterwards.
    """
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    resolved = resolve_tracking_uri(uri)
    saved_globals = (tracking_utils._tracking_uri, registry_utils._registry_uri)
    saved_env = {name: os.environ.get(name)
                 for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(resolved)
    mlflow.set_registry_uri(resolved)
    try:
        yield resolved
    finally:
        mlflow.set_tracking_uri(saved_globals[0])
        registry_utils._registry_uri = saved_globals[1]
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def code_version(repo: Path | None = None) -> str:
    """The git commit of the source tree (``<sha>-dirty`` with local changes), or ``unknown``."""
    import subprocess

    repo = repo or Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=repo, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha
