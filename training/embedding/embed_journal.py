"""The rows of an unfinished ``mirencoder embed``, kept so that rerunning it resumes.

While the command runs, each finished segment of inputs is appended to ``<out>.partial/`` as
one Parquet part (path, input digest, status, reason, message, embedding). A rerun with the
same encoder and settings takes every row whose path and file bytes are unchanged from the
parts and embeds only the rest; when the output is written the folder is removed. A folder
left by other settings (another encoder, modality, window policy, precision, basis or compile
flags) cannot serve this command: it is replaced, and the command says so.

Reuse keys on the program file's own bytes (blake2b); headers a source includes are not
digested, so a header edited between the interrupted run and the rerun is not noticed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...infra.files import atomic_path

__all__ = ["EmbedJournal", "JournalRow", "file_digest", "journal_folder"]

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


@dataclass(frozen=True, slots=True)
class JournalRow:
    """One input's outcome: its embedding, or the reason it failed."""

    vector: np.ndarray | None
    error: tuple[str, str] | None


class EmbedJournal:
    """Finished rows of one embedding command, on disk, keyed by path and file digest.

    Args:
        folder: the journal folder (see :func:`journal_folder`).
        identity: what the rows depend on (encoder digest, modality, windows, ...).
    """

    def __init__(self, folder: Path, identity: dict[str, Any]) -> None:
        self.folder = Path(folder)
        self.identity = json.loads(json.dumps(identity, sort_keys=True, default=str))
        self.rows: dict[tuple[str, str], JournalRow] = {}
        self.replaced = False
        self._parts = 0

    @classmethod
    def open(cls, folder: Path, identity: dict[str, Any]) -> EmbedJournal:
        """Reads the rows an interrupted run with the same ``identity`` left; a folder of
        other settings (or unreadable) is replaced (``replaced`` True)."""
        journal = cls(folder, identity)
        if not journal.folder.exists():
            return journal
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

    def lookup(self, path: str, digest: str | None) -> JournalRow | None:
        """The saved row of ``path`` when its file still has ``digest``."""
        return None if digest is None else self.rows.get((path, digest))

    def append(self, entries: list[tuple[str, str, JournalRow]]) -> None:
        """Saves ``(path, digest, row)`` entries as one more part (atomically)."""
        if not entries:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.folder.mkdir(parents=True, exist_ok=True)
        identity = self.folder / _IDENTITY_FILE
        if not identity.exists():
            with atomic_path(identity) as tmp:
                Path(tmp).write_text(json.dumps(self.identity, sort_keys=True))
        vectors = [None if row.vector is None else np.asarray(row.vector, np.float32).tolist()
                   for _, _, row in entries]
        table = pa.table({
            "path": pa.array([path for path, _, _ in entries], pa.string()),
            "digest": pa.array([digest for _, digest, _ in entries], pa.string()),
            "reason": pa.array([row.error[0] if row.error else None for *_, row in entries],
                               pa.string()),
            "message": pa.array([row.error[1] if row.error else None for *_, row in entries],
                                pa.string()),
            "embedding": pa.array(vectors, pa.list_(pa.float32())),
        })
        with atomic_path(self.folder / f"part-{self._parts:06d}.parquet") as tmp:
            pq.write_table(table, tmp)
        self._parts += 1
        for path, digest, row in entries:
            self.rows[(path, digest)] = row

    def remove(self) -> None:
        """Deletes the folder (the output is written)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def _read(self, part: Path) -> None:
        import pyarrow.parquet as pq

        table = pq.read_table(part).to_pydict()
        for path, digest, reason, message, vector in zip(
                table["path"], table["digest"], table["reason"], table["message"],
                table["embedding"], strict=True):
            error = (reason, message or "") if reason is not None else None
            array = None if vector is None else np.asarray(vector, dtype=np.float32)
            self.rows[(path, digest)] = JournalRow(vector=array, error=error)
