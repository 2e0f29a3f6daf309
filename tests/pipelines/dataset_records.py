"""Test helper (not a test module): a built dataset's records, read as training reads them."""

from __future__ import annotations

from pathlib import Path

from mirencoder.pipelines.dataset import load_index
from mirencoder.pipelines.shards.schema import SPLITS
from mirencoder.training.core.data.shard_reader import decode_sample, iter_raw_samples
from mirencoder.training.pretraining.datamodule import split_shards


def records_by_split(dataset: Path, fmt: str) -> dict[str, dict[str, dict]]:
    """Every record by split and key (index, shard list, reader, decoder)."""
    index = load_index(dataset)
    records = {}
    for split in SPLITS:
        samples = (decode_sample(raw, fmt) for shard in split_shards(dataset, index, split, fmt)
                   for raw in iter_raw_samples(shard, fmt))
        records[split] = {r["key"]: r for r in samples}
    return records
