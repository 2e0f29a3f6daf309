"""The frozen model's forward passes over prepared views, each distinct view encoded once.

Token rows (one window per record), pooled windows (a program's first ``max_windows``
windows pooled into one token vector, as training does with ``data.windows: all``) and
graphs go through the model in batches; a :class:`ViewCache` keyed by content digests keeps
what was already encoded in the call. Also the window policy a package was trained with.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..core.data.collate import (
    DEFAULT_MAX_WINDOWS,
    collate_graphs,
    pad_token_rows,
    token_row,
    token_windows,
)
from ..core.data.token_ids import TokenizerIds
from .embed_config import DEFAULT_MAX_GRAPH_NODES
from .view_cache import ViewCache, array_digest, graph_digest, missing_keys

__all__ = ["joint_vectors", "output_vectors", "encode_token_rows", "encode_pooled_tokens",
           "encode_graphs", "mean_window_records", "package_window_policy", "package_max_graph_nodes"]


def _cache_lookup(known: dict, keys: list[bytes]) -> np.ndarray:
    return np.stack([known[key] for key in keys])


def encode_token_rows(model, records: list[dict], *, ids: TokenizerIds, context_length: int,
                      cache: ViewCache, batch_size: int) -> np.ndarray:
    """Token-view embeddings ``[len(records), D]`` of each record's first window."""
    import torch

    rows = [token_row(r, context_length=context_length, tokenizer_ids=ids) for r in records]
    keys = ([array_digest(row) for row in rows] if cache.enabled
            else cache.serial_keys(len(rows)))
    todo = missing_keys(keys, rows, cache.tokens)
    for start in range(0, len(todo), batch_size):
        chunk = todo[start:start + batch_size]
        tokens, mask = pad_token_rows([row for _, row in chunk], ids)
        with torch.inference_mode():
            out = model.embed_tokens(tokens, mask).cpu().numpy()
        cache.tokens.update(zip([key for key, _ in chunk], out, strict=True))
    return _cache_lookup(cache.tokens, keys)


def encode_pooled_tokens(model, records: list[dict], *, ids: TokenizerIds, context_length: int,
                         max_windows: int, cache: ViewCache, batch_size: int) -> np.ndarray:
    """Token-view embeddings ``[len(records), D]``, each program's first ``max_windows``
    windows pooled (``collate_records(..., windows="all")``, as in training); each distinct
    window sequence encoded once, forward passes of about ``batch_size`` windows."""
    import torch

    per_record = [token_windows(r, context_length=context_length, tokenizer_ids=ids,
                                max_windows=max_windows) for r in records]
    keys = ([b"pool" + len(rows).to_bytes(2, "little") + array_digest(np.concatenate(rows))
             for rows in per_record] if cache.enabled else cache.serial_keys(len(records)))
    todo = missing_keys(keys, per_record, cache.tokens)
    start = 0
    while start < len(todo):
        chunk, size = [], 0
        while start < len(todo) and (not chunk or size + len(todo[start][1]) <= batch_size):
            chunk.append(todo[start])
            size += len(todo[start][1])
            start += 1
        rows = [row for _, windows_of in chunk for row in windows_of]
        owner = torch.tensor([i for i, (_, windows_of) in enumerate(chunk)
                              for _ in windows_of], dtype=torch.long)
        tokens, mask = pad_token_rows(rows, ids)
        with torch.inference_mode():
            out = model.embed_tokens(tokens, mask, owner, len(chunk)).cpu().numpy()
        cache.tokens.update(zip([key for key, _ in chunk], out, strict=True))
    return _cache_lookup(cache.tokens, keys)


def encode_graphs(model, records: list[dict], *, ids: TokenizerIds, max_graph_nodes: int,
                  cache: ViewCache, batch_size: int) -> np.ndarray:
    """Graph-view embeddings ``[len(records), D]``."""
    import torch

    keys = ([graph_digest(r) for r in records] if cache.enabled
            else cache.serial_keys(len(records)))
    todo = missing_keys(keys, records, cache.graphs)
    for start in range(0, len(todo), batch_size):
        chunk = todo[start:start + batch_size]
        graph = collate_graphs([record for _, record in chunk],
                               node_vocab_size=ids.node_vocab_size,
                               max_graph_nodes=max_graph_nodes)
        with torch.inference_mode():
            out = model.embed_graphs(graph).cpu().numpy()
        cache.graphs.update(zip([key for key, _ in chunk], out, strict=True))
    return _cache_lookup(cache.graphs, keys)


def mean_window_records(record: dict, *, ids: TokenizerIds, context_length: int,
                        max_windows: int) -> list[dict]:
    """``windows="mean"``: the record once per window (each with the whole graph)."""
    return [{**record, "tokens": window} for window in token_windows(
        record, context_length=context_length, tokenizer_ids=ids, max_windows=max_windows)]


def package_window_policy(package_dir: Path) -> tuple[str, int]:
    """``("pool", data.max_windows)`` for a package trained on whole programs
    (``data.windows: all`` in its lineage), else ``("first", 16)`` (older packages, and those
    trained on single windows; 16 is then what pool/mean use when asked for)."""
    try:
        lineage: Any = json.loads((Path(package_dir) / "lineage.json").read_text())
    except (OSError, ValueError):
        return "first", DEFAULT_MAX_WINDOWS
    data = (lineage.get("config") or {}).get("data") or {}
    if isinstance(data, dict) and data.get("windows") == "all":
        return "pool", int(data.get("max_windows") or DEFAULT_MAX_WINDOWS)
    return "first", DEFAULT_MAX_WINDOWS


def joint_vectors(fused: np.ndarray, tokens: np.ndarray, graph: np.ndarray) -> np.ndarray:
    """The ``joint`` embedding ``[B, 3D]``: ``[fused; tokens; graph]``, each row of each part
    scaled to length ``1/sqrt(3)``.

    The joint vector has unit length and the cosine of two joint vectors is the mean of the
    cosines of their three parts: no output outweighs another in retrieval, and a linear
    head sees what each output keeps. Measured no better than its parts (RESULTS.md, "Which
    output for which use").
    """
    parts = []
    for part in (fused, tokens, graph):
        norms = np.linalg.norm(part, axis=1, keepdims=True)
        parts.append(part / np.maximum(norms, 1e-12))
    return (np.concatenate(parts, axis=1) / np.sqrt(3.0)).astype(np.float32)


def output_vectors(model, parts: dict[str, np.ndarray], modality: str,
                   turn: Callable[[str, np.ndarray], np.ndarray]) -> np.ndarray:
    """One output (``fused``, ``tokens``, ``graph`` or ``joint``) from the two views' vectors
    ``parts``; ``turn(output, vectors)`` puts each output in its basis before ``joint``."""
    import torch

    if modality in ("tokens", "graph"):
        return turn(modality, parts[modality])
    with torch.inference_mode():
        fused = model.fuse_embeddings(torch.from_numpy(parts["tokens"]),
                                      torch.from_numpy(parts["graph"])).cpu().numpy()
    if modality == "fused":
        return turn("fused", fused)
    return joint_vectors(turn("fused", fused), turn("tokens", parts["tokens"]),
                         turn("graph", parts["graph"]))


def package_max_graph_nodes(package_dir: Path, info: Any) -> int:
    """The graph-node cap a package was trained with (``info``, then its config), else
    :data:`DEFAULT_MAX_GRAPH_NODES`."""
    trained_cap = getattr(info, "max_graph_nodes", None)
    if trained_cap:
        return int(trained_cap)
    try:
        config = json.loads((package_dir / "encoder_config.json").read_text())
    except (OSError, ValueError):
        return DEFAULT_MAX_GRAPH_NODES
    for section in (config, config.get("data", {}), config.get("embedding", {})):
        if isinstance(section, dict) and section.get("max_graph_nodes"):
            return int(section["max_graph_nodes"])
    return DEFAULT_MAX_GRAPH_NODES
