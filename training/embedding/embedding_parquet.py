"""Writes embeddings to Parquet: one row per input (path, status, reason, message, embedding)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...infra.files import atomic_path

if TYPE_CHECKING:
    from .embedding_result import EmbeddingResult

__all__ = ["write_embeddings"]


def write_embeddings(result: EmbeddingResult, out: str | Path, *,
                     metadata: dict[str, str] | None = None) -> Path:
    """Writes one Parquet row per input: path, status, reason, message, embedding.

    ``embedding`` is ``list<float32>`` (null for failed inputs); the file's schema metadata
    records the modality, the embedding size and ``metadata`` (e.g. the model URI).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = len(result.keys)
    dim = int(result.vectors.shape[1]) if result.vectors.ndim == 2 else 0
    status = ["failed" if i in result.errors else "ok" for i in range(n)]
    reason = [result.errors[i][0] if i in result.errors else None for i in range(n)]
    message = [result.errors[i][1] if i in result.errors else None for i in range(n)]
    flat = pa.array(np.ascontiguousarray(result.vectors, dtype=np.float32).reshape(-1),
                    type=pa.float32())
    offsets = pa.array(np.arange(0, (n + 1) * dim, dim, dtype=np.int32), type=pa.int32())
    mask = pa.array([s == "failed" for s in status], type=pa.bool_())
    embedding = pa.ListArray.from_arrays(offsets, flat, mask=mask)
    meta = {"mirencoder.modality": result.modality, "mirencoder.embedding_dim": str(dim),
            **(metadata or {})}
    schema = pa.schema([pa.field("path", pa.string(), nullable=False),
                        pa.field("status", pa.string(), nullable=False),
                        pa.field("reason", pa.string()), pa.field("message", pa.string()),
                        pa.field("embedding", pa.list_(pa.float32()))],
                       metadata={k: str(v) for k, v in meta.items()})
    table = pa.Table.from_arrays([pa.array(result.keys, pa.string()), pa.array(status),
                                  pa.array(reason, pa.string()), pa.array(message, pa.string()),
                                  embedding], schema=schema)
    out = Path(out)
    with atomic_path(out) as tmp:
        pq.write_table(table, tmp)
    return out
