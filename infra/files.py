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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["sha256_file", "sha256_json", "atomic_path", "exclusive_lock", "output_file_problem",
           "output_folder_problem", "write_bytes_atomic", "write_text_atomic"]

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


def output_file_problem(path: str | Path, suffixes: tuple[str, ...]) -> str | None:
    """Why ``path`` cannot take an output file of one of ``suffixes``, or None when it can.

    Commands call it before their work, so a mistyped ``--out`` costs nothing: a folder, a
    name whose suffix says another format than the one written, or a place this process
    cannot write to (the nearest existing folder above it is checked; missing folders below
    it are created at write time).
    """
    path = Path(path)
    wanted = " or ".join(suffixes)
    if path.is_dir():
        return (f"{path} is a folder; give a file name ending in {wanted}, "
                f"e.g. {path / ('output' + suffixes[0])}")
    if path.suffix.lower() not in suffixes:
        return (f"{path}: the file written is {wanted}, not {path.suffix or 'a name without a suffix'};"
                f" name it {path.with_suffix(suffixes[0]).name}")
    return _place_problem(path, path.absolute().parent)


def output_folder_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be an output folder (an existing file, or a place this process
    cannot write to), or None when it can; as :func:`output_file_problem`, before the work."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        return f"{path} is a file, not a folder (it is left as it is)"
    return _place_problem(path, path.absolute())


def _place_problem(path: Path, folder: Path) -> str | None:
    """Checks the nearest existing folder at or above ``folder``: a folder this process may
    write into (the missing ones below it are created at write time)."""
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        return f"{path}: {folder} is a file, not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{path}: {folder} is not writable by this user"
    return None


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


@contextmanager
def exclusive_lock(path: str | Path, what: str) -> Iterator[None]:
    """Holds an exclusive ``flock`` on ``path`` (created, with this process's id in it) for
    the block; the kernel releases it when the process ends, however it ends.

    Raises:
        ConfigError: another process holds it (``what`` and that process's id named).
    """
    import fcntl

    from .errors import ConfigError

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - held for the block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = ""
            for _ in range(20):  # the holder writes its id just after it takes the lock
                handle.seek(0)
                if holder := handle.read().strip():
                    break
                time.sleep(0.05)
            holder = holder or "unknown"
            raise ConfigError(f"{what}: another process (pid {holder}) holds {path}; wait for it "
                              "or stop it") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # closing the only descriptor releases the lock
