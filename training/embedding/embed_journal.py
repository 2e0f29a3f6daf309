"""The rows of an unfinished ``mirencoder embed``, kept so that rerunning it resumes.

While the command runs, the embeddings of each finished segment of inputs are appended to
``<out>.partial/`` as one Parquet part (path, input digest, embedding). A rerun with the same
encoder and settings takes every embedding whose path and file bytes are unchanged from the
parts and embeds only the rest; failed inputs are tried again (a timeout under load, a header
added since, a compiler installed since). When the output is written the folder is removed. A folder
left by other settings (another encoder, modality, window policy, precision, basis or compile
flags) cannot serve this command: it is replaced, and the command says so.

Reuse keys on the program file's own bytes (blake2b); headers a source includes are not
digested, so a header edited between the interrupted run and the rerun is not noticed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ...infra.errors import ConfigError
from ...infra.files import atomic_path

__all__ = ["EmbedJournal", "file_digest", "journal_folder"]

_IDENTITY_FILE = "journal.json"


def journal_folder(out: Path) -> Path:
    """Where the partial rows of the output ``out`` are kept."""
    return out.with_name(out.name + ".partial")


def file_digest(path: Path | None) -> str | None:
    """A digest of a file's bytes, or None when it cannot be read."""
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, lambda: hashlib.blake2b(digest_size=16)).hexdigest()
    except OSError:
        return None


def _journal_file(name: str) -> bool:
    """A file an embedding journal writes: its identity, its parts, an unfinished write."""
    return (name == _IDENTITY_FILE or name.endswith(".tmp")
            or (name.startswith("part-") and name.endswith(".parquet")))


class EmbedJournal:
    """Embeddings finished by one embedding command, on disk, keyed by path and file digest.

    Args:
        folder: the journal folder (see :func:`journal_folder`).
        identity: what the rows depend on (encoder digest, modality, windows, ...).
    """

    def __init__(self, folder: Path, identity: dict[str, Any]) -> None:
        self.folder = Path(folder)
        self.identity = json.loads(json.dumps(identity, sort_keys=True, default=str))
        self.rows: dict[tuple[str, str], np.ndarray] = {}
        self.replaced = False
        self._parts = 0

    @classmethod
    def open(cls, folder: Path, identity: dict[str, Any]) -> EmbedJournal:
        """Reads the rows an interrupted run with the same ``identity`` left; a folder of
        other settings (or unreadable) is replaced (``replaced`` True).

        Raises:
            ConfigError: the folder holds files a journal does not write (left untouched).
        """
        journal = cls(folder, identity)
        if not journal.folder.exists():
            return journal
        foreign = sorted(p.name for p in journal.folder.iterdir() if not _journal_file(p.name))
        if foreign:  # never delete what this command did not write
            raise ConfigError(f"{journal.folder} holds files mirencoder embed did not write "
                              f"({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''})"
                              "; move it aside or choose another --out")
        try:
            saved = json.loads((journal.folder / _IDENTITY_FILE).read_text())
            if saved != journal.identity:
                raise ValueError("other settings")
            parts = sorted(journal.folder.glob("part-*.parquet"))
            for part in parts:
                journal._read(part)
            journal._parts = len(parts)
        except (OSError, ValueError, KeyError):
            journal.rows.clear()
            journal.replaced = True
            journal._parts = 0
            shutil.rmtree(journal.folder, ignore_errors=True)
        return journal

    def lookup(self, path: str, digest: str | None) -> np.ndarray | None:
        """The saved embedding of ``path`` when its file still has ``digest``."""
        return None if digest is None else self.rows.get((path, digest))

    def append(self, entries: list[tuple[str, str, np.ndarray]]) -> None:
        """Saves ``(path, digest, embedding)`` entries as one more part (atomically)."""
        if not entries:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.folder.mkdir(parents=True, exist_ok=True)
        identity = self.folder / _IDENTITY_FILE
        if not identity.exists():
            with atomic_path(identity) as tmp:
                Path(tmp).write_text(json.dumps(self.identity, sort_keys=True))
        table = pa.table({
            "path": pa.array([path for path, _, _ in entries], pa.string()),
            "digest": pa.array([digest for _, digest, _ in entries], pa.string()),
            "embedding": pa.array([np.asarray(v, np.float32).tolist() for *_, v in entries],
                                  pa.list_(pa.float32())),
        })
        with atomic_path(self.folder / f"part-{self._parts:06d}.parquet") as tmp:
            pq.write_table(table, tmp)
        self._parts += 1
        for path, digest, vector in entries:
            self.rows[(path, digest)] = np.asarray(vector, dtype=np.float32)

    def remove(self) -> None:
        """Deletes the folder (the output is written)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def _read(self, part: Path) -> None:
        import pyarrow.parquet as pq

        table = pq.read_table(part).to_pydict()
        for path, digest, vector in zip(table["path"], table["digest"], table["embedding"],
                                        strict=True):
            self.rows[(path, digest)] = np.asarray(vector, dtype=np.float32)
