"""GraphMAE's decoder: node states re-masked, then message passing, before the GAE heads."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ....pipelines.ir.program_graph import FLOWS
from .flow_position_conv import FlowPositionConv
from .graph_encoder import add_reverse_edges

__all__ = ["GraphDecoder"]


class GraphDecoder(nn.Module):
    """The reconstruction decoder of GraphMAE (Hou et al., KDD'22), pre-training only.

    The encoder's node states are projected (GraphMAE's encoder-to-decoder map), the states of
    the masked nodes are replaced by a learned ``[DMASK]`` vector (``remask``: their text must
    then come back from the neighbours, not from what the encoder kept at the node), and
    ``layers`` residual :class:`FlowPositionConv` layers pass messages over the edges the
    encoder saw. The edge and node-text heads read the result, so features that only serve
    reconstruction can live here rather than in the node states the program vectors pool.

    Shapes:
        - node_states: ``[N, hidden]``; masked_nodes: ``[M]`` long; edge_index: ``[2, E]``;
          edge_flow, edge_position: ``[E]`` long (the visible edges)
        - output: ``[N, hidden]``
    """

    def __init__(self, hidden: int, *, layers: int, num_positions: int, remask: bool = True):
        super().__init__()
        if layers < 1:
            raise ValueError(f"layers ({layers}) must be >= 1")
        self.project = nn.Linear(hidden, hidden)
        self.mask_state = nn.Parameter(torch.zeros(hidden)) if remask else None
        relations = 2 * len(FLOWS)
        self.convs = nn.ModuleList(FlowPositionConv(hidden, hidden, relations, num_positions)
                                   for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.final_norm = nn.LayerNorm(hidden)

    def forward(self, node_states: torch.Tensor, masked_nodes: torch.Tensor,
                edge_index: torch.Tensor, edge_flow: torch.Tensor,
                edge_position: torch.Tensor) -> torch.Tensor:
        x = self.project(node_states)
        if self.mask_state is not None:
            masked = torch.zeros(x.size(0), 1, dtype=torch.bool, device=x.device)
            masked[masked_nodes] = True
            # where(), not an in-place write: the mask vector gets its gradient, and a batch
            # without masked nodes still keeps it in the graph (zero gradient, as DDP needs)
            x = torch.where(masked, self.mask_state.to(x.dtype).expand_as(x), x)
        edge_index, relation, position = add_reverse_edges(edge_index, edge_flow, edge_position)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            x = x + F.gelu(conv(norm(x), edge_index, relation, position))
        return self.final_norm(x)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(layers={len(self.convs)}, "
                f"remask={self.mask_state is not None})")
