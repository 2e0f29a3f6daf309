"""Reads raw samples from WebDataset ``.tar`` shards or Parquet shards (no pickle decoders).

Raw WebDataset samples stay bytes until :func:`decode_sample`; shuffling and resume-skipping
therefore move bytes only. ``.npy``/``.npz`` members are decoded with ``allow_pickle=False``.
webdataset is imported only when a ``.tar`` shard is read, so a machine without it can stream
Parquet shards.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

from ....infra.errors import ShardError
from ....pipelines.ir.program_graph import ENCODER_COLUMNS
from ....pipelines.shards.schema import wds_sample_to_record

__all__ = ["iter_raw_samples", "decode_sample", "sample_group", "PARQUET_COLUMNS",
           "OPTIONAL_PARQUET_COLUMNS"]

# Parquet columns training needs (the bitcode column is never read).
PARQUET_COLUMNS = ["key", "corpus", "num_tokens", "tokens", *ENCODER_COLUMNS]
# Read when the shard has them: ``group`` (a source file's variants share it) and
# ``opt_level`` (the variant's level) are newer.
OPTIONAL_PARQUET_COLUMNS = ["group", "opt_level"]
_WDS_MEMBERS = {"tokens.npy", "graph.npz", "meta.json"}


def _iter_wds(path: Path) -> Iterator[dict]:
    from webdataset.tariterators import group_by_keys, tar_file_iterator

    with open(path, "rb") as stream:
        files = ({**member, "__url__": str(path)} for member in tar_file_iterator(stream))
        for sample in group_by_keys(files):
            missing = _WDS_MEMBERS - sample.keys()
            if missing:
                raise ShardError(f"{path}: sample {sample.get('__key__')} lacks "
                                 f"{', '.join(sorted(missing))}")
            yield {name: sample[name] for name in _WDS_MEMBERS}


def _iter_parquet(path: Path) -> Iterator[dict]:
    import pyarrow.parquet as pq

    shard = pq.ParquetFile(path)
    present = set(shard.schema_arrow.names)
    columns = PARQUET_COLUMNS + [name for name in OPTIONAL_PARQUET_COLUMNS if name in present]
    for batch in shard.iter_batches(batch_size=256, columns=columns):
        yield from batch.to_pylist()


def iter_raw_samples(path: str | Path, fmt: str) -> Iterator[dict]:
    """Raw samples of one shard in file order: bytes per member (wds) or a row dict (parquet).

    Raises:
        ShardError: the shard is missing, truncated or not of the format.
    """
    path = Path(path)
    reader = _iter_wds if fmt == "wds" else _iter_parquet
    try:
        yield from reader(path)
    except ShardError:
        raise
    except (OSError, tarfile.TarError, ValueError, KeyError) as error:
        raise ShardError(f"{path}: unreadable {fmt} shard ({type(error).__name__}: {error}); "
                         "check it against the sha256 in index.json or rebuild the dataset"
                         ) from error
    except Exception as error:  # pyarrow raises its own ArrowInvalid etc.
        if type(error).__module__.startswith("pyarrow"):
            raise ShardError(f"{path}: unreadable {fmt} shard ({error})") from error
        raise


def sample_group(raw: dict, fmt: str) -> str | None:
    """The variant group of a raw sample (``group`` in meta.json or the Parquet row), or None."""
    if fmt == "parquet":
        group = raw.get("group")
    else:
        try:
            group = json.loads(raw["meta.json"]).get("group")
        except (ValueError, KeyError, AttributeError) as error:
            raise ShardError(f"undecodable WebDataset meta.json ({error})") from error
    return None if group is None or group == "" else str(group)


def decode_sample(raw: dict, fmt: str) -> dict:
    """A program record from a raw sample (WebDataset members are decoded here)."""
    if fmt == "parquet":
        return raw
    try:
        record = wds_sample_to_record(raw)
    except (ValueError, KeyError, OSError) as error:
        raise ShardError(f"undecodable WebDataset sample ({error})") from error
    if "group" not in record:
        group = sample_group(raw, fmt)
        if group is not None:
            record["group"] = group
    return record
