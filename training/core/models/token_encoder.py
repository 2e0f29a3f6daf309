"""Transformer encoder over the IR token view (pre-norm, learned or rotary positions)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .cpu_linear import inference_linear
from .rotary import RotaryEmbedding

__all__ = ["TokenEncoder", "TransformerBlock"]


class TransformerBlock(nn.Module):
    """One pre-norm transformer layer: self-attention then a GELU feed-forward network.

    Attention runs through ``F.scaled_dot_product_attention`` so that a GPU uses its fused
    kernels. With ``rotary`` set, queries and keys are rotated by their positions.

    Shapes:
        - x: ``[B, L, d_model]``; key_mask: ``[B, L]`` bool (True = a real token)
        - output: ``[B, L, d_model]``
    """

    def __init__(self, d_model: int, heads: int, ffn: int, dropout: float,
                 rotary: RotaryEmbedding | None = None):
        super().__init__()
        if d_model % heads:
            raise ValueError(f"heads ({heads}) must divide d_model ({d_model})")
        self.heads, self.dropout = heads, dropout
        self.norm1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.ffn = nn.Sequential(nn.Linear(d_model, ffn), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(ffn, d_model))
        self.drop = nn.Dropout(dropout)
        self.rotary = rotary

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = (self.qkv(self.norm1(x)).view(batch, length, 3, self.heads, -1)
                   .permute(2, 0, 3, 1, 4))
        if self.rotary is not None:
            q, k = self.rotary(q), self.rotary(k)
        attn = F.scaled_dot_product_attention(
            q, k, v, attn_mask=key_mask[:, None, None, :],
            dropout_p=self.dropout if self.training else 0.0)
        x = x + self.drop(self.out(attn.transpose(1, 2).reshape(batch, length, width)))
        return x + self.drop(self.ffn(self.norm2(x)))

    def forward_inference(self, x: torch.Tensor, key_mask: torch.Tensor | None,
                          qkv: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`forward` in eval mode without gradients, with fewer passes over memory.

        ``q`` and ``k`` are rotated in one op, the linear layers run through
        :func:`~mirencoder.training.core.models.cpu_linear.inference_linear` (GELU fused).

        Args:
            x: ``[B, L, d_model]``.
            key_mask: ``[B, L]`` bool, or None when every position is a real token.
            qkv: ``self.qkv(self.norm1(x))`` when the caller has it already.
        """
        batch, length, width = x.shape
        if qkv is None:
            qkv = inference_linear(self.norm1(x), self.qkv)
        qkv = qkv.view(batch, length, 3, self.heads, -1)
        if self.rotary is not None:  # rotate q and k together, before splitting the heads
            qk = self.rotary.rotate_interleaved(qkv[:, :, :2])
            q, k = qk[:, :, 0].transpose(1, 2), qk[:, :, 1].transpose(1, 2)
        else:
            q, k = qkv[:, :, 0].transpose(1, 2), qkv[:, :, 1].transpose(1, 2)
        v = qkv[:, :, 2].transpose(1, 2)
        mask = None if key_mask is None else key_mask[:, None, None, :]
        attn = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + inference_linear(attn.transpose(1, 2).reshape(batch, length, width), self.out)
        # self.ffn is Linear, GELU, Dropout (off in eval), Linear: the GELU is fused in.
        hidden = inference_linear(self.norm2(x), self.ffn[0], gelu=True)
        return x + inference_linear(hidden, self.ffn[3])


class TokenEncoder(nn.Module):
    """Embeds IR token ids and runs a stack of transformer layers.

    Args:
        vocab_size: tokenizer vocabulary size.
        d_model, layers, heads, ffn, dropout: transformer sizes.
        context_length: longest input ([CLS] included).
        positions: ``learned`` (an embedding per position) or ``rotary``.
        pad_id: the padding token id.

    Shapes:
        - tokens: ``[B, L]`` long, ``L <= context_length``; attention_mask: ``[B, L]`` bool
        - output: ``[B, L, d_model]`` contextual token states
    """

    # Take :meth:`_forward_inference` in eval mode without gradients (set by
    # MIREncoder.use_fast_inference; off by default, so training and evaluation compute
    # exactly as before).
    fast_inference = False

    def __init__(self, *, vocab_size: int, d_model: int, layers: int, heads: int, ffn: int,
                 dropout: float, context_length: int, positions: str, pad_id: int):
        super().__init__()
        if positions not in ("learned", "rotary"):
            raise ValueError(f"positions must be learned or rotary, got {positions!r}")
        self.vocab_size, self.d_model, self.context_length = vocab_size, d_model, context_length
        self.positions = positions
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)
        self.position = (nn.Embedding(context_length, d_model) if positions == "learned"
                         else None)
        rotary = (RotaryEmbedding(d_model // heads, context_length) if positions == "rotary"
                  else None)
        self.blocks = nn.ModuleList(TransformerBlock(d_model, heads, ffn, dropout, rotary)
                                    for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)
        self.drop = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # std d^-1/2 (not BERT's fixed 0.02): a tied MLM decoder then starts with logits of
        # unit scale at any width; with 0.02 a 64-128-wide model learned MLM ~3x slower.
        nn.init.normal_(self.embedding.weight, std=self.d_model ** -0.5)
        if self.embedding.padding_idx is not None:
            with torch.no_grad():
                self.embedding.weight[self.embedding.padding_idx].zero_()
        if self.position is not None:
            nn.init.normal_(self.position.weight, std=0.02)

    def forward(self, tokens: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if tokens.size(1) > self.context_length:
            raise ValueError(f"sequence of {tokens.size(1)} tokens exceeds context_length "
                             f"{self.context_length}")
        if self.fast_inference and not self.training and not torch.is_grad_enabled():
            return self._forward_inference(tokens, attention_mask)
        x = self.embedding(tokens)
        if self.position is not None:
            x = x + self.position.weight[: tokens.size(1)]
        x = self.drop(x)
        for block in self.blocks:
            x = block(x, attention_mask)
        return self.norm(x)

    def _forward_inference(self, tokens: torch.Tensor, attention_mask: torch.Tensor
                           ) -> torch.Tensor:
        """:meth:`forward` in eval mode without gradients, computed with less work.

        The attention mask is dropped when no row is padded; with rotary positions the first
        block's ``qkv`` depends on the token id alone, so it is computed once per distinct id.
        """
        x = self.embedding(tokens)
        if self.position is not None:
            x = x + self.position.weight[: tokens.size(1)]
        mask = None if bool(attention_mask.all()) else attention_mask
        for index, block in enumerate(self.blocks):
            qkv = None
            if index == 0 and self.position is None:
                ids, inverse = torch.unique(tokens, return_inverse=True)
                qkv = inference_linear(block.norm1(self.embedding(ids)), block.qkv)[inverse]
            x = block.forward_inference(x, mask, qkv)
        return self.norm(x)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(vocab={self.vocab_size}, d_model={self.d_model}, "
                f"layers={len(self.blocks)}, context={self.context_length}, "
                f"positions={self.positions})")
