"""Pools each modality to one vector and fuses them into the program embedding."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import global_max_pool, global_mean_pool

__all__ = ["ModalityFusion"]


class ModalityFusion(nn.Module):
    """Token states → [CLS; masked mean] → D; node states → [mean; max] → D; both → fused D.

    The per-modality vectors are kept (same size ``D`` as the fused one) so that consumers can
    pick ``tokens``, ``graph`` or ``fused``.

    Shapes:
        - token_states: ``[B, L, d_model]``; attention_mask: ``[B, L]`` bool
        - node_states: ``[N, hidden]``; node_batch: ``[N]`` graph index of each node
        - output: three ``[B, D]`` tensors (tokens, graph, fused)
    """

    def __init__(self, token_dim: int, graph_dim: int, fusion_dim: int):
        super().__init__()
        self.fusion_dim = fusion_dim
        self.token_proj = nn.Sequential(nn.Linear(2 * token_dim, fusion_dim),
                                        nn.LayerNorm(fusion_dim))
        self.graph_proj = nn.Sequential(nn.Linear(2 * graph_dim, fusion_dim),
                                        nn.LayerNorm(fusion_dim))
        self.fuse = nn.Sequential(nn.Linear(2 * fusion_dim, fusion_dim), nn.GELU(),
                                  nn.Linear(fusion_dim, fusion_dim), nn.LayerNorm(fusion_dim))

    def forward(self, token_states: torch.Tensor, attention_mask: torch.Tensor,
                node_states: torch.Tensor, node_batch: torch.Tensor, num_graphs: int
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        tokens = self.pool_tokens(token_states, attention_mask)
        graph = self.pool_graph(node_states, node_batch, num_graphs)
        return tokens, graph, self.fuse_vectors(tokens, graph)

    def pool_tokens(self, token_states: torch.Tensor, attention_mask: torch.Tensor
                    ) -> torch.Tensor:
        """The token-view vectors ``[B, D]``: ``[CLS; masked mean]`` projected."""
        mask = attention_mask.unsqueeze(-1).to(token_states.dtype)
        mean = (token_states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.token_proj(torch.cat([token_states[:, 0], mean], dim=-1))

    def pool_graph(self, node_states: torch.Tensor, node_batch: torch.Tensor,
                   num_graphs: int) -> torch.Tensor:
        """The graph-view vectors ``[B, D]``: ``[mean; max]`` over each graph's nodes, projected."""
        graph_in = torch.cat([global_mean_pool(node_states, node_batch, num_graphs),
                              global_max_pool(node_states, node_batch, num_graphs)], dim=-1)
        return self.graph_proj(graph_in)

    def fuse_vectors(self, tokens: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
        """The fused vectors ``[B, D]`` of paired token-view and graph-view vectors."""
        return self.fuse(torch.cat([tokens, graph], dim=-1))
