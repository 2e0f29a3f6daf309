"""File helpers: the sha256 of a file or of a JSON value, and writes that readers never see half done.

An atomic write goes to a temporary file beside the target (same folder, so the same file
system) and is renamed onto the target when it is complete; a crash leaves at most a stray
``<name>.<pid>.<token>.tmp``, never a truncated file under the final name.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["sha256_file", "sha256_json", "atomic_path", "write_bytes_atomic", "write_text_atomic"]

_BLOCK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """The hex sha256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def sha256_json(value: object) -> str:
    """The hex sha256 of ``json.dumps(value, sort_keys=True)``: one key for equal settings
    whatever their key order (build hashes, compile-cache keys, config hashes)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path beside ``path``; renames it onto ``path`` when the block succeeds.

    For writers that want a path (``pyarrow.parquet.write_table``, ``tarfile.open``). The
    parent folder is created. On an exception the temporary file is removed and ``path`` is
    left as it was. The temporary name ends in ``.tmp``, so globs such as ``*.parquet`` never
    match it; give a writer that appends its own suffix (``np.save``) an open file instead.

    Example::

        with atomic_path(out / "manifest.parquet") as tmp:
            pq.write_table(table, tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Writes ``data`` to ``path`` through a temporary file and a rename; returns ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Writes ``text`` (UTF-8) to ``path`` through a temporary file and a rename; returns it."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
