"""Graph auto-encoding decoder: scores a node pair as an edge and predicts its flow."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["EdgeDecoder"]


class EdgeDecoder(nn.Module):
    """MLP over ``[h_src; h_dst; h_src * h_dst]`` → one edge logit + one logit per flow.

    The input is ordered, so the decoder can tell ``u → v`` from ``v → u``.

    Shapes:
        - src_states, dst_states: ``[P, hidden]``
        - output: ``(edge_logit [P], flow_logits [P, num_flows])``
    """

    def __init__(self, hidden: int, num_flows: int):
        super().__init__()
        self.num_flows = num_flows
        self.mlp = nn.Sequential(nn.Linear(3 * hidden, hidden), nn.GELU(),
                                 nn.Linear(hidden, 1 + num_flows))

    def forward(self, src_states: torch.Tensor, dst_states: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.mlp(torch.cat([src_states, dst_states, src_states * dst_states], dim=-1))
        return out[:, 0], out[:, 1:]
