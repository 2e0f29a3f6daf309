"""MIREncoder: the multi-modal program encoder (token transformer + relational GNN + fusion)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from mirencoder.training.models.fusion import ModalityFusion
from mirencoder.training.models.graph_encoder import GraphEncoder
from mirencoder.training.models.token_encoder import TokenEncoder

if TYPE_CHECKING:
    from mirencoder.training.config import ModelConfig
    from mirencoder.training.data.collate import ProgramBatch

__all__ = ["MIREncoder", "EMBEDDING_KINDS"]

# The embeddings every forward pass returns, each [B, fusion_dim].
EMBEDDING_KINDS = ("fused", "tokens", "graph")


class MIREncoder(nn.Module):
    """Encodes a :class:`ProgramBatch` into program embeddings.

    Args:
        config: the model sizes.
        vocab_size: IR tokenizer vocabulary size.
        node_vocab_size: node-text vocabulary size.
        pad_id: the tokenizer's padding id.

    ``forward(batch)`` returns ``{"fused", "tokens", "graph"}`` (``[B, D]`` each) plus the
    per-element states the pre-training heads need: ``token_states`` ``[B, L, d_model]`` and
    ``node_states`` ``[N, gnn_hidden]``.
    """

    def __init__(self, config: ModelConfig, *, vocab_size: int, node_vocab_size: int,
                 pad_id: int):
        super().__init__()
        self.config = config
        self.vocab_size, self.node_vocab_size, self.pad_id = vocab_size, node_vocab_size, pad_id
        self.token_encoder = TokenEncoder(
            vocab_size=vocab_size, d_model=config.d_model, layers=config.layers,
            heads=config.heads, ffn=config.ffn, dropout=config.dropout,
            context_length=config.context_length, positions=config.positions, pad_id=pad_id)
        self.graph_encoder = GraphEncoder(
            node_vocab_size=node_vocab_size, hidden=config.gnn_hidden, layers=config.gnn_layers,
            num_positions=config.num_edge_positions, dropout=config.dropout)
        self.fusion = ModalityFusion(config.d_model, config.gnn_hidden, config.fusion_dim)

    @property
    def embedding_dim(self) -> int:
        return self.config.fusion_dim

    def forward(self, batch: ProgramBatch) -> dict[str, torch.Tensor]:
        token_states = self.token_encoder(batch.tokens, batch.attention_mask)
        graph = batch.graph
        node_states = self.graph_encoder(graph.node_text, graph.node_type, graph.edge_index,
                                         graph.edge_flow, graph.edge_position)
        tokens, graph_vec, fused = self.fusion(token_states, batch.attention_mask, node_states,
                                               graph.batch, batch.num_programs)
        return {"fused": fused, "tokens": tokens, "graph": graph_vec,
                "token_states": token_states, "node_states": node_states}

    @torch.no_grad()
    def embed(self, batch: ProgramBatch) -> dict[str, torch.Tensor]:
        """The program embeddings only (``fused``, ``tokens``, ``graph``), without gradients.

        Call ``model.eval()`` first for deterministic embeddings (dropout off).
        """
        out = self.forward(batch)
        return {kind: out[kind].float() for kind in EMBEDDING_KINDS}

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
