"""The record schemas shared by the build, the shard writers and the training readers.

A *program record* is one de-duplicated program: its canonical bitcode, its IR token view
and its ProGraML-style graph view. The same record is written to Parquet (one row) and to
WebDataset (one sample: ``__key__``, ``tokens.npy``, ``graph.npz``, ``meta.json``).
"""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa

__all__ = [
    "SPLITS", "MANIFEST_STATUSES", "SCHEMA_VERSION", "PROGRAM_SCHEMA", "MANIFEST_SCHEMA",
    "graph_to_npz", "graph_from_npz", "record_to_wds_sample", "wds_sample_to_record",
]

SCHEMA_VERSION = 1

SPLITS = ("train", "validation", "test")
MANIFEST_STATUSES = ("ok", "failed", "duplicate", "excluded")


# One row per de-duplicated program, in Parquet and (split into files) in WebDataset.
PROGRAM_SCHEMA = pa.schema([
    pa.field("key", pa.string(), nullable=False),  # ir_sha256[:24], the WebDataset __key__
    pa.field("ir_sha256", pa.string(), nullable=False),  # sha256 of the normalised IR text
    pa.field("corpus", pa.string(), nullable=False),
    pa.field("source_path", pa.string(), nullable=False),  # first input with this IR
    pa.field("language", pa.string(), nullable=False),  # c | cpp | opencl | cuda | ir
    pa.field("split", pa.string(), nullable=False),  # train | validation | test
    pa.field("num_tokens", pa.int32(), nullable=False),  # before any truncation
    pa.field("tokens", pa.list_(pa.int32()), nullable=False),
    pa.field("node_type", pa.list_(pa.int8()), nullable=False),
    pa.field("node_text", pa.list_(pa.int32()), nullable=False),  # node-text vocabulary ids
    pa.field("node_function", pa.list_(pa.int32()), nullable=False),
    pa.field("node_block", pa.list_(pa.int32()), nullable=False),
    pa.field("edge_src", pa.list_(pa.int32()), nullable=False),
    pa.field("edge_dst", pa.list_(pa.int32()), nullable=False),
    pa.field("edge_flow", pa.list_(pa.int8()), nullable=False),
    pa.field("edge_position", pa.list_(pa.int32()), nullable=False),
    pa.field("bitcode", pa.large_binary(), nullable=False),  # canonical artifact
], metadata={"mirencoder.schema_version": str(SCHEMA_VERSION)})

# DIR/manifest.parquet: exactly one row per input.
MANIFEST_SCHEMA = pa.schema([
    pa.field("path", pa.string(), nullable=False),  # as given, archive members as ARCHIVE!MEMBER
    pa.field("corpus", pa.string(), nullable=False),
    pa.field("language", pa.string(), nullable=True),
    pa.field("status", pa.string(), nullable=False),  # ok | failed | duplicate | excluded
    pa.field("reason", pa.string(), nullable=True),  # machine-readable, e.g. compile_error
    pa.field("message", pa.string(), nullable=True),  # human-readable detail (clang's stderr)
    pa.field("ir_sha256", pa.string(), nullable=True),
    pa.field("key", pa.string(), nullable=True),  # record key (for duplicates: the kept one)
])

_GRAPH_ARRAYS = ("node_type", "node_text", "node_function", "node_block",
                 "edge_src", "edge_dst", "edge_flow", "edge_position")


def graph_to_npz(record: dict) -> bytes:
    """Packs the graph columns of a record into ``.npz`` bytes (no pickles)."""
    dtypes = {f.name: f.type.value_type.to_pandas_dtype() for f in PROGRAM_SCHEMA
              if f.name in _GRAPH_ARRAYS}
    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.asarray(record[name], dtype=dtypes[name]) for name in _GRAPH_ARRAYS})
    return buffer.getvalue()


def graph_from_npz(data: bytes) -> dict[str, np.ndarray]:
    """Unpacks ``graph.npz`` bytes; refuses pickled object arrays."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {name: npz[name] for name in _GRAPH_ARRAYS}


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


_META_FIELDS = ("key", "ir_sha256", "corpus", "source_path", "language", "split", "num_tokens")


def record_to_wds_sample(record: dict) -> dict[str, bytes | str]:
    """Turns one program record into a WebDataset sample (bytes per extension)."""
    meta = {name: record[name] for name in _META_FIELDS}
    meta["num_nodes"] = len(record["node_type"])
    meta["num_edges"] = len(record["edge_src"])
    return {
        "__key__": record["key"],
        "tokens.npy": _npy(np.asarray(record["tokens"], dtype=np.int32)),
        "graph.npz": graph_to_npz(record),
        "meta.json": json.dumps(meta, sort_keys=True).encode(),
    }


def wds_sample_to_record(sample: dict[str, bytes]) -> dict:
    """Inverse of :func:`record_to_wds_sample` (without the bitcode, which WebDataset omits)."""
    meta = json.loads(sample["meta.json"])
    record = {name: meta[name] for name in _META_FIELDS}
    record["tokens"] = np.load(io.BytesIO(sample["tokens.npy"]), allow_pickle=False)
    record.update(graph_from_npz(sample["graph.npz"]))
    return record
