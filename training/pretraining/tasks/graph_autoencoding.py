"""Graph auto-encoding: reconstruct (hidden) edges and their flow types, and masked node texts.

Positive edges are a random ``mask_rate`` share of the edges, removed from message passing
(MaskGAE-style; with ``mask_rate = 0`` every edge is visible and reconstructed, the classic
GAE). Negatives keep a positive's source and draw a random destination in the same graph;
pairs that are real edges (any flow) are dropped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ...core.models.edge_decoder import EdgeDecoder

__all__ = ["EdgeSplit", "split_edges", "sample_negative_edges", "mask_node_texts",
           "gae_metrics"]


class EdgeSplit:
    """Which edges message passing sees, and which are scored as positives."""

    __slots__ = ("visible", "positives")

    def __init__(self, visible: torch.Tensor, positives: torch.Tensor):
        self.visible = visible  # [E] bool
        self.positives = positives  # [P] long edge indices


def split_edges(num_edges: int, *, mask_rate: float, max_positives: int,
                generator: torch.Generator) -> EdgeSplit:
    """Hides ``mask_rate`` of the edges (at least one when there are edges) as positives."""
    if num_edges == 0:
        return EdgeSplit(torch.zeros(0, dtype=torch.bool), torch.zeros(0, dtype=torch.long))
    if mask_rate > 0:
        hidden = torch.rand(num_edges, generator=generator) < mask_rate
        if not hidden.any():
            hidden[torch.randint(num_edges, (1,), generator=generator)] = True
        positives = hidden.nonzero().squeeze(1)
        visible = ~hidden
    else:
        positives = torch.arange(num_edges)
        visible = torch.ones(num_edges, dtype=torch.bool)
    if positives.numel() > max_positives:
        keep = torch.randperm(positives.numel(), generator=generator)[:max_positives]
        positives = positives[keep.sort().values]
    return EdgeSplit(visible, positives)


def sample_negative_edges(edge_index: torch.Tensor, sources: torch.Tensor,
                          node_batch: torch.Tensor, ptr: torch.Tensor, *, ratio: float,
                          generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``ratio`` negatives per source: same source, a random node of its graph as destination.

    All tensors on the CPU. Returns ``(src, dst)`` of the negatives that are not real edges.
    """
    count = int(round(sources.numel() * ratio))
    if count == 0 or sources.numel() == 0:
        empty = torch.zeros(0, dtype=torch.long)
        return empty, empty
    pick = torch.randint(sources.numel(), (count,), generator=generator)
    src = sources[pick]
    graph = node_batch[src]
    start, size = ptr[graph], ptr[graph + 1] - ptr[graph]
    dst = start + (torch.rand(count, generator=generator) * size).long()
    num_nodes = int(ptr[-1])
    existing = edge_index[0] * num_nodes + edge_index[1]
    keep = ~torch.isin(src * num_nodes + dst, existing)
    return src[keep], dst[keep]


def mask_node_texts(node_text: torch.Tensor, *, rate: float, mask_id: int,
                    generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Replaces ``rate`` of the node texts by ``mask_id``; returns (inputs, masked node indices)."""
    if rate <= 0 or node_text.numel() == 0:
        return node_text, torch.zeros(0, dtype=torch.long)
    chosen = (torch.rand(node_text.numel(), generator=generator) < rate).nonzero().squeeze(1)
    inputs = node_text.clone()
    inputs[chosen.to(node_text.device)] = mask_id
    return inputs, chosen


def gae_metrics(decoder: EdgeDecoder, node_states: torch.Tensor, pos_src: torch.Tensor,
                pos_dst: torch.Tensor, pos_flow: torch.Tensor, neg_src: torch.Tensor,
                neg_dst: torch.Tensor) -> dict[str, torch.Tensor]:
    """Binary edge loss over positives and negatives plus flow-type loss on the positives."""
    src = torch.cat([pos_src, neg_src])
    dst = torch.cat([pos_dst, neg_dst])
    edge_logit, flow_logits = decoder(node_states[src], node_states[dst])
    labels = torch.cat([torch.ones_like(pos_src), torch.zeros_like(neg_src)]).to(
        edge_logit.dtype)
    link_loss = F.binary_cross_entropy_with_logits(edge_logit.float(), labels.float())
    positives = pos_src.numel()
    flow_loss = F.cross_entropy(flow_logits[:positives].float(), pos_flow)
    link_accuracy = ((edge_logit > 0).to(labels.dtype) == labels).float().mean()
    flow_accuracy = (flow_logits[:positives].argmax(-1) == pos_flow).float().mean()
    return {"link_loss": link_loss, "flow_loss": flow_loss,
            "link_accuracy": link_accuracy.detach(), "flow_accuracy": flow_accuracy.detach()}
