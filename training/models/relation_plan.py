"""Inference-time plan of a batch's edges, shared by every :class:`FlowPositionConv` layer.

Training applies each relation's weight to every node and gathers one message per edge (see
``flow_position_conv.py``): simple, differentiable, but ``N × R`` projections and several
``[E, out]`` tensors per layer. Without gradients the same sum is computed in another order:

* edges are grouped into *slots* ``(relation r, target i)`` (about 3 per node in ProGraML
  graphs, against ``R = 6``); one sparse matrix ``[S, N]`` holding ``1 / |N_r(i)|`` averages
  the source states of each slot, then each relation's weight multiplies only its own slots;
* the position and relation-bias terms depend on the edges only, not on the node states:
  their normalised counts (``[N, num_positions + R]``) are computed once per batch;
* the first layer sees node embeddings that depend on (node text, node type) alone, so it
  projects each distinct pair once and sums messages per (target, pair, relation) with a
  second sparse matrix ``[N, K * R]``.

Built once per batch (:func:`build_relation_plan`), it serves every layer. The results equal
the training path's up to float rounding (the sums are merely reordered).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

__all__ = ["RelationPlan", "build_relation_plan"]


@dataclass(slots=True)
class RelationPlan:
    """The edge structure of one batch in the form the inference path needs.

    Attributes:
        num_nodes: ``N``.
        slot_matrix: sparse CSR ``[S, N]``: row ``s`` averages the sources of slot ``s``
            (None without edges). Slots are ordered by relation, then target node.
        slot_node: ``[S]`` target node of each slot.
        relation_bounds: ``R + 1`` offsets: relation ``r`` owns slots
            ``relation_bounds[r]:relation_bounds[r + 1]``.
        extra: ``[N, num_positions + R]`` dense: per target node, the normalised count of
            incoming edges at each (clamped) position, then 1.0 for each relation it receives.
        node_key: ``[N]`` index of each node's (text, type) pair among the ``num_keys``
            distinct ones (None when not given).
        key_matrix: sparse CSR ``[N, num_keys * R]``: normalised messages per (target, source
            pair, relation) for the first layer (None without edges or keys).
    """

    num_nodes: int
    slot_matrix: torch.Tensor | None
    slot_node: torch.Tensor
    relation_bounds: list[int]
    extra: torch.Tensor
    node_key: torch.Tensor | None = None
    key_matrix: torch.Tensor | None = None


def _csr(rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor,
         shape: tuple[int, int]) -> torch.Tensor:
    """A CSR matrix with duplicate ``(row, col)`` entries summed."""
    merged, inverse = torch.unique(rows * shape[1] + cols, sorted=True, return_inverse=True)
    summed = values.new_zeros(merged.numel()).index_add_(0, inverse, values)
    crow = torch.zeros(shape[0] + 1, dtype=torch.int64, device=rows.device)
    crow[1:] = torch.bincount(merged // shape[1], minlength=shape[0]).cumsum(0)
    with warnings.catch_warnings():  # "sparse CSR support is in beta state"
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow, merged % shape[1], summed, shape)


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
    slot_ids, slot_of_edge = torch.unique(edge_type * num_nodes + dst, sorted=True,
                                          return_inverse=True)
    num_slots = slot_ids.numel()
    degree = torch.bincount(slot_of_edge, minlength=num_slots)
    norm = degree.reciprocal().to(dtype)[slot_of_edge]
    slot_node = slot_ids % max(num_nodes, 1)
    slot_relation = slot_ids // max(num_nodes, 1)
    counts = torch.bincount(slot_relation, minlength=relations).tolist()
    bounds = [0]
    for count in counts:
        bounds.append(bounds[-1] + int(count))
    extra = torch.zeros(num_nodes, num_positions + relations, dtype=dtype, device=device)
    extra.index_put_((dst, edge_position.clamp(0, num_positions - 1)), norm, accumulate=True)
    extra[slot_node, num_positions + slot_relation] = 1.0
    has_edges = src.numel() > 0
    slot_matrix = (_csr(slot_of_edge, src, norm, (num_slots, num_nodes)) if has_edges
                   else None)
    key_matrix = None
    if node_key is not None and has_edges:
        key_matrix = _csr(dst, node_key[src] * relations + edge_type, norm,
                          (num_nodes, num_keys * relations))
    return RelationPlan(num_nodes=num_nodes, slot_matrix=slot_matrix, slot_node=slot_node,
                        relation_bounds=bounds, extra=extra, node_key=node_key,
                        key_matrix=key_matrix)
