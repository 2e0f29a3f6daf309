"""Rotary position embedding (RoPE) applied to attention queries and keys."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["RotaryEmbedding"]


class RotaryEmbedding(nn.Module):
    """Rotates pairs of channels by a position-dependent angle (Su et al., 2021).

    Args:
        head_dim: channels per attention head (even).
        max_length: longest sequence; the cos/sin tables are precomputed up to it.
        base: the frequency base (default: 10000).

    Shapes:
        - input: ``[B, H, L, head_dim]`` queries or keys, ``L <= max_length``
        - output: same shape
    """

    def __init__(self, head_dim: int, max_length: int, base: float = 10000.0):
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"rotary embedding needs an even head_dim, got {head_dim}")
        self.head_dim, self.max_length, self.base = head_dim, max_length, base
        inv_freq = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        angles = torch.outer(torch.arange(max_length, dtype=torch.float32), inv_freq)
        # Not persistent: recomputed from the config, so checkpoints hold only learned weights.
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length = x.size(-2)
        cos = self.cos[:length].to(x.dtype)
        sin = self.sin[:length].to(x.dtype)
        even, odd = x[..., 0::2], x[..., 1::2]
        rotated = torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1)
        return rotated.flatten(-2)

    def rotate_interleaved(self, x: torch.Tensor) -> torch.Tensor:
        """The same rotation for ``[B, L, ..., head_dim]`` (positions on dim 1), in one op.

        The channel pairs are read as complex numbers and multiplied by ``e^{i angle}``:
        ``(even + i odd)(cos + i sin)`` is the rotation of :meth:`forward`. Used by the
        inference path, on the fused ``qkv`` output before it is split into heads.
        """
        length = x.size(1)
        # float32 tables even when the module was cast (complex bf16 does not exist).
        phase = torch.complex(self.cos[:length].float(), self.sin[:length].float())
        shape = (1, length) + (1,) * (x.dim() - 3) + (self.head_dim // 2,)
        pairs = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
        return torch.view_as_real(pairs * phase.view(shape)).flatten(-2).to(x.dtype)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(head_dim={self.head_dim}, max_length={self.max_length})"
