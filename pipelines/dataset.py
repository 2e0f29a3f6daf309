"""Reading a built dataset folder: its index, shard lists and records."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq

from ..infra.errors import ConfigError
from .shards.schema import SPLITS, wds_sample_to_record

__all__ = ["load_index", "index_sha256", "list_shards", "iter_parquet_records",
           "iter_wds_records"]


def load_index(dataset_dir: str | Path) -> dict:
    """The dataset's ``index.json``; a folder without one is not a (finished) dataset."""
    path = Path(dataset_dir) / "index.json"
    if not path.exists():
        hint = (" (the build did not finish: run the same `mirencoder dataset build` again to "
                "resume it)" if (Path(dataset_dir) / "_work").exists() else "")
        raise ConfigError(f"{dataset_dir} is not a built dataset: no index.json{hint}")
    return json.loads(path.read_text())


def index_sha256(dataset_dir: str | Path) -> str:
    """The hash that names a dataset in lineage records (sha256 of ``index.json``)."""
    import hashlib

    return hashlib.sha256((Path(dataset_dir) / "index.json").read_bytes()).hexdigest()


def list_shards(dataset_dir: str | Path, split: str, fmt: str = "wds") -> list[Path]:
    """Absolute paths of the shards of one split, in index order."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    if fmt not in ("wds", "parquet"):
        raise ConfigError(f"unknown shard format {fmt!r}; expected wds or parquet")
    index = load_index(dataset_dir)
    return [Path(dataset_dir) / shard["path"] for shard in index["splits"][split][fmt]]


def iter_parquet_records(paths: list[Path], columns: list[str] | None = None) -> Iterator[dict]:
    """Records of Parquet shards, one dict per program."""
    for path in paths:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=256, columns=columns):
            yield from batch.to_pylist()


def iter_wds_records(paths: list[Path]) -> Iterator[dict]:
    """Records of WebDataset shards (read with the standard library; no pickle decoders)."""
    for path in paths:
        with tarfile.open(path) as tar:
            sample: dict[str, bytes] = {}
            key = None
            for member in tar:
                name = member.name
                member_key, _, extension = name.partition(".")
                if key is not None and member_key != key:
                    yield wds_sample_to_record(sample)
                    sample = {}
                key = member_key
                sample[extension] = tar.extractfile(member).read()
            if sample:
                yield wds_sample_to_record(sample)
