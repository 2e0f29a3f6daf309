"""The record schemas shared by the build, the shard writers and the training readers.

A *program record* is one de-duplicated program: its canonical bitcode, its IR token view
and its ProGraML-style graph view. The same record is written to Parquet (one row) and to
WebDataset (one sample: ``__key__``, ``tokens.npy``, ``graph.npz``, ``meta.json``).

Schema versions: 1 is the first; 2 adds ``group`` (the source input a record was compiled
from: sha256 of the input's path inside its corpus and its bytes, 24 hex digits; every
optimisation-level variant of a source shares it, and a build writes a group's records
next to each other) and ``opt_level`` (``O0``..``Oz``, ``""`` for ready IR) to the records
and to the manifest, whose rows become one per input *and level*. Readers of version-1
datasets default ``group`` to the record key and ``opt_level`` to ``""``.

The graph fields and ``graph.npz`` members are the graph columns of
``pipelines/ir/program_graph.py`` (:data:`GRAPH_COLUMNS`, which also documents the names).
A record's ``source_path`` is a manifest ``path`` (an input, as given; archive members as
``ARCHIVE!MEMBER``): the first input, in plan order, whose IR the record holds; other inputs
with the same IR are manifest rows with status ``duplicate`` and this record's ``key``.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa

from ..ir.program_graph import GRAPH_COLUMN_NAMES, graph_arrays, graph_arrow_fields

__all__ = [
    "SPLITS", "MANIFEST_STATUSES", "SCHEMA_VERSION", "PROGRAM_SCHEMA", "PROGRAM_SCHEMA_V1",
    "MANIFEST_SCHEMA",
    "graph_to_npz", "graph_from_npz", "record_to_wds_sample", "wds_sample_to_record",
]

SCHEMA_VERSION = 2

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
    pa.field("group", pa.string(), nullable=False),  # source input (its variants share it)
    pa.field("opt_level", pa.string(), nullable=False),  # O0..Oz; "" for ready IR
    pa.field("num_tokens", pa.int32(), nullable=False),  # before any truncation
    pa.field("tokens", pa.list_(pa.int32()), nullable=False),
    *graph_arrow_fields(nullable=False),  # GRAPH_COLUMNS, node texts as vocabulary ids
    pa.field("bitcode", pa.large_binary(), nullable=False),  # canonical artifact
], metadata={"mirencoder.schema_version": str(SCHEMA_VERSION)})

# The records of schema version 1 (no group, no opt_level): what older datasets hold.
PROGRAM_SCHEMA_V1 = pa.schema([f for f in PROGRAM_SCHEMA if f.name not in ("group", "opt_level")],
                              metadata={"mirencoder.schema_version": "1"})

# DIR/manifest.parquet: exactly one row per input and optimisation level (per input when the
# build compiles at one level; ready IR and inputs refused before compiling: one row, level "").
MANIFEST_SCHEMA = pa.schema([
    pa.field("path", pa.string(), nullable=False),  # as given, archive members as ARCHIVE!MEMBER
    pa.field("corpus", pa.string(), nullable=False),
    pa.field("language", pa.string(), nullable=True),
    pa.field("status", pa.string(), nullable=False),  # ok | failed | duplicate | excluded
    pa.field("reason", pa.string(), nullable=True),  # machine-readable, e.g. compile_error
    pa.field("message", pa.string(), nullable=True),  # human-readable detail (clang's stderr)
    pa.field("ir_sha256", pa.string(), nullable=True),
    pa.field("key", pa.string(), nullable=True),  # record key (for duplicates: the kept one)
    pa.field("group", pa.string(), nullable=False),  # the input's variant group
    pa.field("opt_level", pa.string(), nullable=False),  # the variant's level, "" if none
    # LLVM that wrote the input's IR: "14.0.6" (bitcode producer, or the text's llvm.ident),
    # ">=19" (a heuristic lower bound from text syntax), null when unknown or never read.
    pa.field("llvm_version", pa.string(), nullable=True),
    # The variant's compile.flag_sets name; null when the recipe has none (and in manifests
    # written before flag sets existed, which lack the column).
    pa.field("flag_set", pa.string(), nullable=True),
])


def graph_to_npz(record: dict) -> bytes:
    """Packs the graph columns of a record into ``.npz`` bytes (no pickles)."""
    buffer = io.BytesIO()
    np.savez(buffer, **graph_arrays(record))
    return buffer.getvalue()


def graph_from_npz(data: bytes) -> dict[str, np.ndarray]:
    """Unpacks ``graph.npz`` bytes; refuses pickled object arrays."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {name: npz[name] for name in GRAPH_COLUMN_NAMES}


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


_META_FIELDS = ("key", "ir_sha256", "corpus", "source_path", "language", "split", "group",
                "opt_level", "num_tokens")
_V1_MISSING = ("group", "opt_level")  # meta.json fields of schema version 2


def record_to_wds_sample(record: dict) -> dict[str, bytes | str]:
    """Turns one program record into a WebDataset sample (bytes per extension); a version-1
    record (no ``group``/``opt_level``) gives a version-1 ``meta.json``."""
    meta = {name: record[name] for name in _META_FIELDS
            if name in record or name not in _V1_MISSING}
    meta["num_nodes"] = len(record["node_type"])
    meta["num_edges"] = len(record["edge_src"])
    return {
        "__key__": record["key"],
        "tokens.npy": _npy(np.asarray(record["tokens"], dtype=np.int32)),
        "graph.npz": graph_to_npz(record),
        "meta.json": json.dumps(meta, sort_keys=True).encode(),
    }


def wds_sample_to_record(sample: dict[str, bytes]) -> dict:
    """Inverse of :func:`record_to_wds_sample` (without the bitcode, which WebDataset omits);
    a version-1 sample gets ``group`` = its key and ``opt_level`` = ``""``."""
    meta = json.loads(sample["meta.json"])
    record = {name: meta[name] for name in _META_FIELDS if name not in _V1_MISSING}
    record["group"] = meta.get("group") or record["key"]
    record["opt_level"] = meta.get("opt_level", "")
    record["tokens"] = np.load(io.BytesIO(sample["tokens.npy"]), allow_pickle=False)
    record.update(graph_from_npz(sample["graph.npz"]))
    return record
