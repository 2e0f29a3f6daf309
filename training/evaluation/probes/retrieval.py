"""Optimisation-invariance retrieval: MAP@R over cosine similarity, and variant de-duplication.

MAP@R (Musgrave et al., "A Metric Learning Reality Check", ECCV 2020): for a query with R
relevant items (the other variants of its source), rank every other item by cosine
similarity; ``AP@R = (1/R) * sum_{i<=R} P(i) * rel(i)``; MAP@R is its mean over queries. The
query is never ranked against itself. Ties are broken by a seeded random order (identical
vectors must not favour relevant items).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["RetrievalScores", "cosine_similarity_matrix", "average_precision_at_r",
           "map_at_r", "deduplicate_variants"]


@dataclass(frozen=True, slots=True)
class RetrievalScores:
    """Per-query AP@R and precision@1 (queries with R = 0 are left out)."""

    ap_at_r: np.ndarray
    precision_at_1: np.ndarray
    query_index: np.ndarray

    @property
    def map_at_r(self) -> float:
        return float(self.ap_at_r.mean()) if len(self.ap_at_r) else float("nan")

    @property
    def mean_precision_at_1(self) -> float:
        return float(self.precision_at_1.mean()) if len(self.precision_at_1) else float("nan")


def cosine_similarity_matrix(vectors: np.ndarray) -> np.ndarray:
    """``[N, N]`` cosine similarities; an all-zero row is similar to nothing (0)."""
    x = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    return x @ x.T


def average_precision_at_r(relevant_in_rank_order: np.ndarray, r: int) -> float:
    """AP@R of one ranking: ``rel`` flags of the ranked items (query excluded), R relevant."""
    if r <= 0:
        return float("nan")
    rel = np.asarray(relevant_in_rank_order[:r], dtype=np.float64)
    precision = np.cumsum(rel) / np.arange(1, len(rel) + 1)
    return float((precision * rel).sum() / r)


def map_at_r(vectors: np.ndarray, groups: Sequence[str], *, seed: int = 0) -> RetrievalScores:
    """MAP@R and precision@1 of every item as a query against all others.

    Args:
        vectors: ``[N, D]`` embeddings (finite).
        groups: the source of each item; items of the same source are relevant to each other.
        seed: seeds the tie-breaking order.
    """
    labels = np.asarray(groups)
    n = len(labels)
    similarity = cosine_similarity_matrix(vectors)
    np.fill_diagonal(similarity, -np.inf)
    order_tiebreak = np.random.default_rng(seed).permutation(n)
    ranked = order_tiebreak[np.argsort(-similarity[:, order_tiebreak], axis=1, kind="stable")]
    aps, p1, queries = [], [], []
    for i in range(n):
        r = int((labels == labels[i]).sum()) - 1
        if r <= 0:
            continue
        ranking = ranked[i][ranked[i] != i]
        rel = labels[ranking] == labels[i]
        aps.append(average_precision_at_r(rel, r))
        p1.append(float(rel[0]))
        queries.append(i)
    return RetrievalScores(np.asarray(aps), np.asarray(p1), np.asarray(queries, dtype=int))


def deduplicate_variants(groups: Sequence[str], digests: Sequence[str]
                         ) -> tuple[list[int], dict[str, int]]:
    """Which variants to keep: within a source, the first of each distinct normalised IR;
    then sources with fewer than 2 distinct variants, and sources sharing a variant with an
    earlier kept source, are dropped whole.

    Args:
        groups: the source of each variant (variants of a source in level order).
        digests: sha256 of each variant's normalised IR.

    Returns:
        The kept indices (input order) and counts: ``identical_variants`` (dropped within a
        source), ``single_variant_sources`` and ``cross_source_duplicates`` (sources dropped).
    """
    by_group: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        by_group.setdefault(group, []).append(index)
    kept: list[int] = []
    seen_digests: set[str] = set()
    counts = {"identical_variants": 0, "single_variant_sources": 0,
              "cross_source_duplicates": 0}
    for members in by_group.values():
        distinct: dict[str, int] = {}
        for index in members:
            distinct.setdefault(digests[index], index)
        counts["identical_variants"] += len(members) - len(distinct)
        if len(distinct) < 2:
            counts["single_variant_sources"] += 1
            continue
        if seen_digests & set(distinct):
            counts["cross_source_duplicates"] += 1
            continue
        seen_digests.update(distinct)
        kept.extend(distinct.values())
    return sorted(kept), counts
