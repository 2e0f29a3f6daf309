"""Masked node-text prediction head: node states → node-text vocabulary logits."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["NodeTextHead"]


class NodeTextHead(nn.Module):
    """Linear classifier over the node-text vocabulary.

    Shapes:
        - input: ``[M, hidden]`` states of the masked nodes
        - output: ``[M, node_vocab_size]`` logits
    """

    def __init__(self, hidden: int, node_vocab_size: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.proj = nn.Linear(hidden, node_vocab_size)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.proj(self.norm(states))
