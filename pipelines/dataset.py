"""A built dataset folder's index, and the check of its files against it (shards and records
are read by training's reader, ``training/core/data/shard_reader.py``).

Every reader of a built dataset (pre-training, the held-out probes, ``dataset inspect``)
calls :func:`verify_dataset_files` on the files it is about to read, before reading any: a
file whose size or sha256 differs from ``index.json`` stops the run with one line naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..infra.errors import ConfigError, FatalError
from ..infra.files import sha256_file

__all__ = ["load_index", "index_sha256", "content_sha256", "VerifiedFiles", "verify_files",
           "verify_dataset_files", "shard_entries"]


def load_index(dataset_dir: str | Path) -> dict:
    """The dataset's ``index.json``; a folder without one is not a (finished) dataset."""
    path = Path(dataset_dir) / "index.json"
    if not path.exists():
        hint = (" (the build did not finish: run the same `mirencoder dataset build` again to "
                "resume it)" if (Path(dataset_dir) / "_work").exists() else "")
        raise ConfigError(f"{dataset_dir} is not a built dataset: no index.json{hint}")
    return json.loads(path.read_text())


def index_sha256(dataset_dir: str | Path) -> str:
    """The hash that names a dataset build in lineage records (sha256 of ``index.json``)."""
    return sha256_file(Path(dataset_dir) / "index.json")


# Index keys that describe one build, not what it holds (wall time, Ray nodes).
BUILD_ONLY_KEYS = ("build", "content_sha256")


def content_sha256(index: dict) -> str:
    """The sha256 of what a dataset holds: its index without the keys of one build.

    Two builds of one recipe that wrote the same shards, vocabularies and manifest share it
    (their ``index.json`` differ in wall time and Ray node ids), so lineage can tell that two
    encoders were trained on the same data across machines. Computable for indexes written
    before it was stored.
    """
    content = {key: value for key, value in index.items() if key not in BUILD_ONLY_KEYS}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class VerifiedFiles:
    """What :func:`verify_files` checked: file count, bytes and wall time."""

    files: int
    bytes: int
    seconds: float


def _problem(path: Path, expected_bytes: int | None, expected_sha256: str | None) -> str | None:
    if not expected_sha256:
        return (f"{path}: index.json records no sha256 for it, so it cannot be checked; "
                "rebuild the dataset")
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return f"{path}: missing (listed in index.json); rebuild the dataset"
    if expected_bytes is not None and size != expected_bytes:
        return (f"{path}: {size} bytes, index.json records {expected_bytes} (truncated or "
                "changed after the build); rebuild the dataset")
    actual = sha256_file(path)
    if actual != expected_sha256:
        return (f"{path}: sha256 {actual[:16]}... differs from index.json's "
                f"{expected_sha256[:16]}... (damaged or changed after the build); rebuild the "
                "dataset")
    return None


def verify_files(dataset_dir: str | Path,
                 entries: Iterable[tuple[str, int | None, str | None]]) -> VerifiedFiles:
    """Checks files of a dataset against the size and sha256 that ``index.json`` records.

    Args:
        dataset_dir: the dataset folder.
        entries: ``(path relative to the folder, bytes or None, sha256 or None)`` per file.

    Raises:
        FatalError: one line per file that is missing, has another size or another sha256,
            or has no sha256 in the index; every file is checked before raising.
    """
    started = time.perf_counter()
    root = Path(dataset_dir)
    problems, files, total = [], 0, 0
    for rel, expected_bytes, expected_sha256 in entries:
        path = root / rel
        problem = _problem(path, expected_bytes, expected_sha256)
        if problem is not None:
            problems.append(problem)
            continue
        files += 1
        total += path.stat().st_size
    if problems:
        raise FatalError("\n".join(problems))
    return VerifiedFiles(files, total, time.perf_counter() - started)


def shard_entries(index: dict, splits: Sequence[str] | None = None,
                  formats: Sequence[str] = ("parquet", "wds")) -> list[dict]:
    """The shard entries (``path``, ``records``, ``bytes``, ``sha256``) of some splits and
    formats of an index (default: every split)."""
    chosen = index.get("splits", {})
    names = list(chosen) if splits is None else [s for s in splits if s]
    return [shard for split in names for fmt in formats
            for shard in chosen.get(split, {}).get(fmt, [])]


# Files beside the shards, with the index field that records their sha256 (older indexes
# lack ``manifest_sha256``; the synthetic test datasets have no ``tokenizer.json``).
_SIDE_FILES = (("tokenizer.json", "tokenizer_sha256"), ("node_vocab.json", "node_vocab_sha256"),
               ("manifest.parquet", "manifest_sha256"))


def verify_dataset_files(dataset_dir: str | Path, index: dict, shards: Iterable[dict], *,
                         side_files: Sequence[str] = ()) -> VerifiedFiles:
    """Checks the given shard entries, and the named side files (``tokenizer.json``,
    ``node_vocab.json``, ``manifest.parquet``) where the index records their sha256 and the
    file exists, before any of them is read (see :func:`verify_files`).

    Raises:
        FatalError: a file is missing, truncated or changed (one line per file).
    """
    entries = [(shard["path"], shard.get("bytes"), shard.get("sha256")) for shard in shards]
    for name, key in _SIDE_FILES:
        if name in side_files and index.get(key) and (Path(dataset_dir) / name).exists():
            entries.append((name, None, index[key]))
    return verify_files(dataset_dir, entries)
