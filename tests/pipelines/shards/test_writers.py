"""Shard writers: bounded shards, temp-then-rename, reproducible bytes, portable schema."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from mirencoder.infra.files import sha256_file
from mirencoder.pipelines.shards.schema import PROGRAM_SCHEMA
from mirencoder.pipelines.shards.writers import ParquetShardWriter, WebDatasetShardWriter
from mirencoder.training.core.data.shard_reader import decode_sample, iter_raw_samples


def _record(i: int) -> dict:
    rng = np.random.default_rng(i)
    n, e = 5 + i, 8 + i
    return {"key": f"{i:024x}", "ir_sha256": f"{i:064x}", "corpus": "t", "source_path": f"{i}.c",
            "language": "c", "split": "train", "group": f"g{i}", "opt_level": "O2",
            "num_tokens": 10 + i,
            "tokens": rng.integers(0, 100, 10 + i).astype(np.int32),
            "node_type": rng.integers(0, 3, n).astype(np.int8),
            "node_text": rng.integers(0, 50, n).astype(np.int32),
            "node_function": np.zeros(n, np.int32), "node_block": np.zeros(n, np.int32),
            "edge_src": rng.integers(0, n, e).astype(np.int32),
            "edge_dst": rng.integers(0, n, e).astype(np.int32),
            "edge_flow": rng.integers(0, 3, e).astype(np.int8),
            "edge_position": rng.integers(0, 3, e).astype(np.int32), "bitcode": b"BC" * i}


def _write(folder: Path, cls, n: int, max_records: int):
    writer = cls(folder, "part-00000", root=folder.parent, max_records=max_records,
                 max_bytes=1 << 30)
    for i in range(n):
        writer.write(_record(i))
    return writer.close()


def test_webdataset_shards_roll_over_and_are_reproducible(tmp_path: Path):
    first = _write(tmp_path / "a" / "wds", WebDatasetShardWriter, 7, 3)
    second = _write(tmp_path / "b" / "wds", WebDatasetShardWriter, 7, 3)
    assert [s.records for s in first] == [3, 3, 1]
    assert [s.sha256 for s in first] == [s.sha256 for s in second]
    paths = [tmp_path / "a" / s.path for s in first]
    assert all(sha256_file(p) == s.sha256 for p, s in zip(paths, first, strict=True))
    assert not list((tmp_path / "a").rglob("*.tmp"))
    records = [decode_sample(raw, "wds") for path in paths for raw in iter_raw_samples(path, "wds")]
    assert [r["key"] for r in records] == [f"{i:024x}" for i in range(7)]
    np.testing.assert_array_equal(records[4]["tokens"], _record(4)["tokens"])
    np.testing.assert_array_equal(records[4]["edge_flow"], _record(4)["edge_flow"])


def test_parquet_shards_use_the_explicit_schema(tmp_path: Path):
    shards = _write(tmp_path / "d" / "parquet", ParquetShardWriter, 5, 2)
    assert [s.records for s in shards] == [2, 2, 1]
    table = pq.read_table(tmp_path / "d" / shards[0].path)
    assert table.schema.equals(PROGRAM_SCHEMA, check_metadata=False)
    assert table.column("tokens").to_pylist()[1] == _record(1)["tokens"].tolist()


def test_a_full_shard_waits_for_the_end_of_its_group(tmp_path: Path):
    """Variants of one source (one group) never span two shards."""
    groups = ["a", "a", "a", "b", "b", "c", "d"]
    for cls, folder in ((ParquetShardWriter, "parquet"), (WebDatasetShardWriter, "wds")):
        writer = cls(tmp_path / folder, "part-00000", root=tmp_path, max_records=2,
                     max_bytes=1 << 30)
        for i, group in enumerate(groups):
            writer.write({**_record(i), "group": group})
        assert [s.records for s in writer.close()] == [3, 2, 2]
    records = [decode_sample(raw, "wds") for path in sorted((tmp_path / "wds").glob("*.tar"))
               for raw in iter_raw_samples(path, "wds")]
    assert [r["group"] for r in records] == groups
    assert {r["opt_level"] for r in records} == {"O2"}
