"""A built dataset folder's index (shards and records are read by training's reader,
``training/core/data/shard_reader.py``)."""

from __future__ import annotations

import json
from pathlib import Path

from ..infra.errors import ConfigError
from ..infra.files import sha256_file

__all__ = ["load_index", "index_sha256"]


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
    return sha256_file(Path(dataset_dir) / "index.json")
