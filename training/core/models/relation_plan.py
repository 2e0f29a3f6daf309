"""Inference-time plan of a batch's edges, shared by every :class:`FlowPositionConv` layer.

Training applies each relation's weight to every node and gathers one message per edge (see
``flow_position_conv.py``): simple, differentiable, but ``N × R`` projections and several
``[E, out]`` tensors per layer. Without gradients the same sum is computed in another order:

* edges are grouped into *slots* ``(relation r, target i)`` (about 3 per node in ProGraML
  graphs, against ``R = 6``); the source states of each slot are averaged (one fused
  gather-weight-sum, ``embedding_bag``), then each relation's weight multiplies only its own
  slots;
* the position and relation-bias terms depend on the edges only, not on the node states:
  their normalised counts (``[N, num_positions + R]``) are computed once per batch;
* the first layer sees node embeddings that depend on (node text, node type) alone, so it
  projects each distinct pair once and sums the messages per (target, pair, relation).

Built once per batch (:func:`build_relation_plan`), it serves every layer. The results equal
the training path's up to float rounding (the sums are merely reordered).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["RelationPlan", "SparseSum", "build_relation_plan"]


@dataclass(slots=True)
class SparseSum:
    """A sparse ``[num_rows, cols]`` matrix in CSR form (entries sorted by row).

    :meth:`apply` computes ``matrix @ dense`` with one ``embedding_bag`` (a fused
    gather-weight-sum, about a third faster on CPU than a gather plus a scatter-add; torch's
    sparse matmul kernels are slower still here).

    Attributes:
        num_rows: the row count.
        cols: ``[nnz]`` the column of each entry, rows in order (duplicates add up).
        offsets: ``[num_rows]`` where each row's entries start in ``cols``.
        values: ``[nnz]`` the entries' values (None when all are 1).
    """

    num_rows: int
    cols: torch.Tensor
    offsets: torch.Tensor
    values: torch.Tensor | None

    @classmethod
    def from_entries(cls, rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor | None,
                     num_rows: int) -> SparseSum:
        """The matrix with entries ``(rows[i], cols[i], values[i])`` in any order."""
        order = torch.argsort(rows, stable=True)
        offsets = torch.zeros(num_rows, dtype=torch.int64, device=rows.device)
        if num_rows > 1:
            offsets[1:] = torch.bincount(rows, minlength=num_rows)[:-1].cumsum(0)
        return cls(num_rows=num_rows, cols=torch.index_select(cols, 0, order), offsets=offsets,
                   values=None if values is None else torch.index_select(values, 0, order))

    def apply(self, dense: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """``matrix @ dense``, added to ``out`` when given (``[num_rows, D]``)."""
        weights = None if self.values is None else self.values.to(dense.dtype)
        result = F.embedding_bag(self.cols, dense, self.offsets, mode="sum",
                                 per_sample_weights=weights)
        return result if out is None else out.add_(result)


@dataclass(slots=True)
class RelationPlan:
    """The edge structure of one batch in the form the inference path needs.

    Attributes:
        num_nodes: ``N``.
        slot_matrix: ``[S, N]``: row ``s`` averages the sources of slot ``s`` (None without
            edges). Slots are ordered by relation, then target node.
        slot_node: ``[S]`` target node of each slot.
        relation_bounds: ``R + 1`` offsets: relation ``r`` owns slots
            ``relation_bounds[r]:relation_bounds[r + 1]``.
        extra: ``[N, num_positions + R]`` dense: per target node, the normalised count of
            incoming edges at each (clamped) position, then 1.0 for each relation it receives.
        node_key: ``[N]`` index of each node's (text, type) pair among the ``num_keys``
            distinct ones (None when not given).
        key_matrix: ``[N, num_keys * R]``: normalised messages per (target, source key,
            relation) for the first layer (None without edges or keys).
    """

    num_nodes: int
    slot_matrix: SparseSum | None
    slot_node: torch.Tensor
    relation_bounds: list[int]
    extra: torch.Tensor
    node_key: torch.Tensor | None = None
    key_matrix: SparseSum | None = None


def build_relation_plan(edge_index: torch.Tensor, edge_type: torch.Tensor,
                        edge_position: torch.Tensor, num_nodes: int, *, num_relations: int,
                        num_positions: int, node_key: torch.Tensor | None = None,
                        num_keys: int = 0, dtype: torch.dtype = torch.float32) -> RelationPlan:
    """The plan of one batch's edges (reverse edges already added, as the layers see them).

    Args:
        edge_index: ``[2, E]`` source and target nodes.
        edge_type: ``[E]`` relation of each edge in ``[0, num_relations)``.
        edge_position: ``[E]`` edge positions (clamped to ``num_positions - 1`` as the layer
            does).
        num_nodes: ``N``.
        num_relations, num_positions: as in :class:`FlowPositionConv`.
        node_key: ``[N]`` index of each node's first-layer input among ``num_keys`` distinct
            ones (enables :meth:`FlowPositionConv.forward_per_key`).
        num_keys: the number of distinct keys.
        dtype: the node states' dtype.
    """
    device = edge_index.device
    relations = num_relations
    src, dst = edge_index[0], edge_index[1]
    num_edges = src.numel()
    # Slots (relation, target) in relation-major order, compacted without sorting.
    slot_key = edge_type * num_nodes + dst
    degree = torch.bincount(slot_key, minlength=relations * num_nodes)
    present = degree > 0
    slot_ids = present.nonzero().flatten()
    num_slots = slot_ids.numel()
    compact = present.cumsum(0) - 1
    slot_of_edge = torch.index_select(compact, 0, slot_key)
    inverse_degree = degree.reciprocal().to(dtype)
    norm = torch.index_select(inverse_degree, 0, slot_key)
    slot_node = slot_ids % max(num_nodes, 1)
    slot_relation = slot_ids // max(num_nodes, 1)
    counts = torch.bincount(slot_relation, minlength=relations).tolist()
    bounds = [0]
    for count in counts:
        bounds.append(bounds[-1] + int(count))
    extra = torch.zeros(num_nodes, num_positions + relations, dtype=dtype, device=device)
    extra.index_put_((dst, edge_position.clamp(0, num_positions - 1)), norm, accumulate=True)
    extra[slot_node, num_positions + slot_relation] = 1.0
    slot_matrix = key_matrix = None
    if num_edges:
        slot_matrix = SparseSum.from_entries(
            slot_of_edge, src, None if bool((degree <= 1).all()) else norm, num_slots)
        if node_key is not None:
            key_matrix = SparseSum.from_entries(
                dst, torch.index_select(node_key, 0, src) * relations + edge_type, norm,
                num_nodes)
    return RelationPlan(num_nodes=num_nodes, slot_matrix=slot_matrix, slot_node=slot_node,
                        relation_bounds=bounds, extra=extra, node_key=node_key,
                        key_matrix=key_matrix)
