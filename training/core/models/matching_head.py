"""IR–graph matching classifier over a (token vector, graph vector) pair."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MatchingHead"]


class MatchingHead(nn.Module):
    """MLP over ``[t; g; |t - g|; t * g]`` → one logit (same program or not).

    Shapes:
        - tokens, graph: ``[P, D]`` paired program vectors
        - output: ``[P]`` logits
    """

    def __init__(self, dim: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(4 * dim, dim), nn.GELU(), nn.Linear(dim, 1))

    def forward(self, tokens: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
        features = torch.cat([tokens, graph, (tokens - graph).abs(), tokens * graph], dim=-1)
        return self.mlp(features).squeeze(-1)
