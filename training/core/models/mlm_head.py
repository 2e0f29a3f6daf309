"""Masked-language-modelling head: token states → vocabulary logits (optionally tied)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MLMHead"]


class MLMHead(nn.Module):
    """Dense → GELU → LayerNorm → vocabulary projection (BERT's prediction head).

    Args:
        d_model: token-state width.
        vocab_size: vocabulary size.
        tied_embedding: when given, its weight is the decoder matrix (weight tying).

    Shapes:
        - input: ``[M, d_model]`` states of the masked positions only
        - output: ``[M, vocab_size]`` logits
    """

    def __init__(self, d_model: int, vocab_size: int, tied_embedding: nn.Embedding | None = None):
        super().__init__()
        self.dense = nn.Linear(d_model, d_model)
        self.norm = nn.LayerNorm(d_model)
        self.tied = tied_embedding is not None
        self.decoder_weight = (tied_embedding.weight if tied_embedding is not None
                               else nn.Parameter(torch.empty(vocab_size, d_model)))
        if not self.tied:
            nn.init.normal_(self.decoder_weight, std=d_model ** -0.5)
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return F.linear(self.norm(F.gelu(self.dense(states))), self.decoder_weight, self.bias)

    def __repr__(self) -> str:
        vocab, width = self.decoder_weight.shape
        return f"{self.__class__.__name__}({width} -> {vocab}, tied={self.tied})"
