"""Bounded shard writers for Parquet and WebDataset: temp file, then rename; reproducible bytes.

A shard is written to ``<name>.tmp`` and renamed when it closes, so a crashed build never
leaves a truncated file under a finished name. Tar members get a fixed ``mtime`` so that the
same records give the same bytes.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ...infra.files import sha256_file, write_text_atomic
from .schema import PROGRAM_SCHEMA, record_to_wds_sample

__all__ = ["ShardInfo", "ParquetShardWriter", "WebDatasetShardWriter", "write_json_atomic"]

_FIXED_MTIME = 0


@dataclass(frozen=True, slots=True)
class ShardInfo:
    """A closed shard: its path (relative to the dataset root when written), size and hash."""

    path: str
    records: int
    bytes: int
    sha256: str

    def to_dict(self) -> dict:
        return {"path": self.path, "records": self.records, "bytes": self.bytes,
                "sha256": self.sha256}


def write_json_atomic(path: Path, data: dict) -> None:
    """Writes JSON (indented, sorted keys) atomically (see :func:`write_text_atomic`)."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True))


class _BoundedWriter:
    """Rolls to a new shard at ``max_records`` or ``max_bytes``; names ``{prefix}-{n:03d}{ext}``.

    A full shard stays open while the next records belong to the same ``group`` as the last
    one, so the consecutive variants of a source never span two shards (a shard may exceed
    its limits by a group's last few records). Records without a group roll at the limit.
    """

    extension = ""

    def __init__(self, folder: Path, prefix: str, *, root: Path, max_records: int, max_bytes: int):
        self.folder, self.prefix, self.root = folder, prefix, root
        self.max_records, self.max_bytes = max_records, max_bytes
        self.shards: list[ShardInfo] = []
        self._records = 0
        self._bytes = 0
        self._open = False
        self._full = False
        self._group: str | None = None

    def _final_path(self) -> Path:
        return self.folder / f"{self.prefix}-{len(self.shards):03d}{self.extension}"

    def write(self, record: dict) -> None:
        group = record.get("group") or None
        if self._full and (group is None or group != self._group):
            self._close_shard()
        if not self._open:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._start(self._final_path().with_suffix(self.extension + ".tmp"))
            self._open = True
        self._bytes += self._add(record)
        self._records += 1
        self._group = group
        if self._records >= self.max_records or self._bytes >= self.max_bytes:
            if group is None:
                self._close_shard()
            else:
                self._full = True

    def close(self) -> list[ShardInfo]:
        if self._open:
            self._close_shard()
        return self.shards

    def _close_shard(self) -> None:
        final = self._final_path()
        tmp = final.with_suffix(self.extension + ".tmp")
        self._finish()
        os.replace(tmp, final)
        self.shards.append(ShardInfo(path=str(final.relative_to(self.root)), records=self._records,
                                     bytes=final.stat().st_size, sha256=sha256_file(final)))
        self._records = self._bytes = 0
        self._open = self._full = False

    def _start(self, tmp: Path) -> None:
        raise NotImplementedError

    def _add(self, record: dict) -> int:
        raise NotImplementedError

    def _finish(self) -> None:
        raise NotImplementedError


class ParquetShardWriter(_BoundedWriter):
    """Writes program records to Parquet files with the explicit :data:`PROGRAM_SCHEMA`."""

    extension = ".parquet"
    _ROW_GROUP = 256

    def _start(self, tmp: Path) -> None:
        self._writer = pq.ParquetWriter(tmp, PROGRAM_SCHEMA, compression="zstd")
        self._pending: list[dict] = []

    def _add(self, record: dict) -> int:
        self._pending.append(record)
        if len(self._pending) >= self._ROW_GROUP:
            self._flush()
        return (len(record["bitcode"]) + 4 * len(record["tokens"])
                + 14 * len(record["node_type"]) + 13 * len(record["edge_src"]))

    def _flush(self) -> None:
        if self._pending:
            columns = {name: [r[name] for r in self._pending] for name in PROGRAM_SCHEMA.names}
            self._writer.write_table(pa.Table.from_pydict(columns, schema=PROGRAM_SCHEMA))
            self._pending = []

    def _finish(self) -> None:
        self._flush()
        self._writer.close()


class WebDatasetShardWriter(_BoundedWriter):
    """Writes program records as WebDataset samples (``tokens.npy``, ``graph.npz``, ``meta.json``)."""

    extension = ".tar"

    def _start(self, tmp: Path) -> None:
        self._tar = tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT)

    def _add(self, record: dict) -> int:
        sample = record_to_wds_sample(record)
        key = sample.pop("__key__")
        written = 0
        for extension, payload in sample.items():
            info = tarfile.TarInfo(f"{key}.{extension}")
            info.size, info.mtime, info.mode = len(payload), _FIXED_MTIME, 0o444
            info.uname = info.gname = "mirencoder"
            self._tar.addfile(info, io.BytesIO(payload))
            written += 512 + len(payload)
        return written

    def _finish(self) -> None:
        self._tar.close()
