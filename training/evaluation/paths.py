"""The evaluation data (where the evaluation recipes say it lies), its extraction cache and
the report's default folder."""

from __future__ import annotations

from pathlib import Path

from ...infra.errors import FatalError
from ...pipelines.inputs import MAX_MEMBER_BYTES, extract_archive
from ...pipelines.recipes import EvaluationInput, default_data_dir, evaluation_input

__all__ = ["repo_root", "default_data_dir", "default_cache_dir", "evaluation_data",
           "extract_kernels"]


def repo_root() -> Path:
    """The project checkout holding this package, or the working directory when installed."""
    candidate = Path(__file__).resolve().parents[2]
    return candidate if (candidate / "pyproject.toml").exists() else Path.cwd()


def default_cache_dir() -> Path:
    """``<repo>/runs/cache/eval``: extracted archives and compiled kernels (git-ignored)."""
    return repo_root() / "runs" / "cache" / "eval"


def evaluation_data(recipe: str, data_dir: Path, tables: tuple[str, ...]) -> EvaluationInput:
    """The kernels' archive of an evaluation recipe, checked to lie beside the task's tables.

    Args:
        recipe: the evaluation recipe (``datasets/<recipe>.yaml``) naming the archive.
        data_dir: the data root, in place of the recipe's ``../shared/data``.
        tables: file names in the archive's folder the task needs.

    Raises:
        FatalError: naming every missing file and how to point the command at the data.
    """
    found = evaluation_input(recipe, data_dir)
    missing = [path for path in (*(found.folder / name for name in tables), found.path)
               if not path.is_file()]
    if missing:
        raise FatalError(
            f"evaluation data not found: {', '.join(str(path) for path in missing)} missing. "
            "Pass --data-dir pointing at the folder that holds devmap/ and thread-coarsening/ "
            "(the public CGO'17 / PACT'14 data; see ../shared/data/README.md).")
    return found


def extract_kernels(archive: Path, cache_dir: Path) -> Path:
    """Extracts an evaluation archive into ``cache_dir/<stem>-<hash8>/`` once (the build's
    safe extraction, :func:`~mirencoder.pipelines.inputs.extract_archive`).

    Raises:
        FatalError: the archive is damaged, or a member was refused (unsafe or too large).
    """
    extracted = extract_archive(archive, cache_dir, max_file_bytes=MAX_MEMBER_BYTES)
    if not extracted.complete or extracted.rejected:
        problems = "; ".join(f"{name or Path(archive).name}: {reason} ({message})"
                             for name, reason, message in extracted.rejected[:5])
        raise FatalError(f"cannot extract {archive}: {problems}")
    return extracted.root
