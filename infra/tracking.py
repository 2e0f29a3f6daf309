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
from pathlib import Path

__all__ = ["DEFAULT_EXPERIMENT", "project_root", "runs_dir", "default_tracking_uri",
           "resolve_tracking_uri", "model_cache_dir", "sqlite_uri"]

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


def model_cache_dir() -> Path:
    """Where pulled registry models are cached (``<repo>/runs/cache/models``)."""
    root = os.environ.get("MIRENCODER_CACHE_DIR")
    return (Path(root) if root else runs_dir() / "cache") / "models"
