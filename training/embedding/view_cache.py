"""Content digests of token windows and graphs, and the embeddings already computed for them.

Within one embedding call the embedder encodes each distinct token window and each distinct
graph once: DevMap's 669 files, for instance, hold 434 distinct first windows and 263
distinct graphs (programs often share module headers, or the whole structure with other
constants). Identical inputs give identical embeddings, so this changes no result.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from ...pipelines.ir.program_graph import ENCODER_COLUMNS

__all__ = ["ViewCache", "array_digest", "graph_digest", "missing_keys"]


class ViewCache:
    """Token-view and graph-view embeddings computed earlier in one call, by content digest.

    Programs often share their first token window (module headers, type definitions) or their
    whole graph (same code, other constants or names); each is encoded once. Disabled, every
    view gets a key of its own (each is encoded, as without the cache).
    """

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.tokens: dict[bytes, np.ndarray] = {}
        self.graphs: dict[bytes, np.ndarray] = {}
        self._serial = 0

    def serial_keys(self, count: int) -> list[bytes]:
        """``count`` keys never used before (no sharing)."""
        start, self._serial = self._serial, self._serial + count
        return [i.to_bytes(8, "little") for i in range(start, start + count)]


def array_digest(array: np.ndarray) -> bytes:
    """A 16-byte digest of an array's bytes."""
    return hashlib.blake2b(np.ascontiguousarray(array).tobytes(), digest_size=16).digest()


def graph_digest(record: dict[str, Any]) -> bytes:
    """A digest of the graph arrays the encoder reads (lengths included, dtypes normalised)."""
    h = hashlib.blake2b(digest_size=16)
    for name in ENCODER_COLUMNS:
        array = np.asarray(record[name], dtype=np.int64)
        h.update(array.shape[0].to_bytes(8, "little"))
        h.update(array.tobytes())
    return h.digest()


def missing_keys(keys: list[bytes], items: list, known: dict[bytes, np.ndarray]) -> list[tuple]:
    """``(key, item)`` of each distinct key not in ``known``, in first-seen order."""
    todo: dict[bytes, Any] = {}
    for key, item in zip(keys, items, strict=True):
        if key not in known and key not in todo:
            todo[key] = item
    return list(todo.items())
