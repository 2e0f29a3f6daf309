"""IR–graph matching classifier over the fused vector of a (token vector, graph vector) pair."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MatchingHead"]


class MatchingHead(nn.Module):
    """MLP over a fused pair vector → one logit (same program or not).

    It reads ``ModalityFusion.fuse_vectors(tokens, graph)``, not the two vectors, so the
    matching loss trains the fusion layer (ALBEF's ITM head reads the multimodal encoder's
    output). A pre-training head only: encoder packages do not hold it.

    Shapes:
        - fused: ``[P, D]`` fused vectors of paired programs
        - output: ``[P]`` logits
    """

    def __init__(self, dim: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, 1))

    def forward(self, fused: torch.Tensor) -> torch.Tensor:
        return self.mlp(fused).squeeze(-1)
