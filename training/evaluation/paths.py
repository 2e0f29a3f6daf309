"""Default locations of the evaluation data, its extraction cache and the report."""

from __future__ import annotations

from pathlib import Path

from ...infra.errors import FatalError

__all__ = ["repo_root", "default_data_dir", "default_cache_dir", "require_data_dir"]


def repo_root() -> Path:
    """The project checkout holding this package, or the working directory when installed."""
    candidate = Path(__file__).resolve().parents[2]
    return candidate if (candidate / "pyproject.toml").exists() else Path.cwd()


def default_data_dir() -> Path:
    """``<repo>/../shared/data``: where the public evaluation data lives beside the checkout."""
    return (repo_root() / ".." / "shared" / "data").resolve()


def default_cache_dir() -> Path:
    """``<repo>/runs/cache/eval``: extracted archives and compiled kernels (git-ignored)."""
    return repo_root() / "runs" / "cache" / "eval"


def require_data_dir(data_dir: Path, task: str, required: tuple[str, ...]) -> Path:
    """Checks that ``data_dir/<task>`` holds the files a task needs.

    Args:
        data_dir: the data root (the folder that holds ``devmap/`` and ``thread-coarsening/``).
        task: the task's sub-folder.
        required: file names relative to ``data_dir/task``.

    Returns:
        ``data_dir/task``.

    Raises:
        FatalError: naming every missing file and how to point the command at the data.
    """
    folder = Path(data_dir).expanduser() / task
    missing = [name for name in required if not (folder / name).is_file()]
    if missing:
        raise FatalError(
            f"evaluation data not found: {', '.join(str(folder / m) for m in missing)} missing. "
            "Pass --data-dir pointing at the folder that holds devmap/ and thread-coarsening/ "
            "(the public CGO'17 / PACT'14 data; see ../shared/data/README.md).")
    return folder
