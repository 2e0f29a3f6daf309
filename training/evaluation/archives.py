"""Safe, once-only extraction of the evaluation archives into a cache folder."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
from pathlib import Path

from ...infra.errors import FatalError

__all__ = ["extract_archive"]

_MARKER = ".extracted"


def _archive_id(archive: Path) -> str:
    digest = hashlib.sha256()
    with archive.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def extract_archive(archive: Path, cache_dir: Path) -> Path:
    """Extracts ``archive`` into ``cache_dir/<stem>-<sha8>/`` once and returns that folder.

    Members are filtered with tarfile's ``data`` filter (no absolute paths, no ``..``, no links
    leaving the folder, no devices). A completion marker makes a rerun skip the work; a
    half-written folder from an interrupted run is removed and extracted again.

    Raises:
        FatalError: when the archive is unreadable or holds an unsafe member.
    """
    archive = Path(archive)
    sha = _archive_id(archive)
    stem = archive.name.split(".")[0]
    target = Path(cache_dir) / f"{stem}-{sha[:8]}"
    marker = target / _MARKER
    if marker.exists() and marker.read_text().strip() == sha:
        return target
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
    except (tarfile.TarError, OSError) as error:
        shutil.rmtree(target, ignore_errors=True)
        raise FatalError(f"cannot extract {archive}: {error}") from error
    marker.write_text(sha)
    return target
