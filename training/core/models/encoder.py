"""MIREncoder: the multi-modal program encoder (token transformer + relational GNN + fusion)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from ....pipelines.ir.loops import on_control_cycle
from .fusion import ModalityFusion
from .graph_encoder import GraphEncoder
from .rotary import RotaryEmbedding
from .token_encoder import TokenEncoder

if TYPE_CHECKING:
    from torch_geometric.data import Batch

    from ..data.collate import ProgramBatch
    from ..model_config import ModelConfig

__all__ = ["MIREncoder", "EMBEDDING_KINDS", "node_in_loop"]

# The embeddings every forward pass returns, each [B, fusion_dim].
EMBEDDING_KINDS = ("fused", "tokens", "graph")


def node_in_loop(edge_index: torch.Tensor, edge_flow: torch.Tensor, num_nodes: int
                 ) -> torch.Tensor:
    """``[num_nodes]`` bool on ``edge_index``'s device: nodes on a cycle of the control edges
    (``pipelines/ir/loops.py``; a batch of disjoint graphs works as one graph)."""
    edges = edge_index.detach().cpu().numpy()
    found = on_control_cycle(edges[0], edges[1], edge_flow.detach().cpu().numpy(), num_nodes)
    return torch.from_numpy(found).to(edge_index.device)


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

    Whole programs: a batch collated with ``windows="all"`` holds ``W >= B`` token rows (every
    window of each program) and ``batch.window_program``; ``token_states`` is then
    ``[W, L, d_model]`` and ``tokens`` pools each program's windows
    (:meth:`ModalityFusion.pool_tokens`), so ``fused``/``tokens``/``graph`` stay ``[B, D]``.
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
            num_positions=config.num_edge_positions, dropout=config.dropout,
            block_pooling=config.gnn_block_pooling)
        self.fusion = ModalityFusion(config.d_model, config.gnn_hidden, config.fusion_dim,
                                     config.fusion,
                                     graph_size=config.graph_size_readout,
                                     text_counts=node_vocab_size if config.counting_readout
                                     else 0,
                                     loop_text_counts=node_vocab_size
                                     if config.loop_counting_readout else 0)

    @property
    def embedding_dim(self) -> int:
        return self.config.fusion_dim

    def forward(self, batch: ProgramBatch, *, token_states: torch.Tensor | None = None,
                node_states: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Encodes ``batch``; ``token_states`` / ``node_states`` given (from an earlier pass
        over the same rows / graph) skip that encoder and are pooled as they are."""
        if token_states is None:
            token_states = self.token_encoder(batch.tokens, batch.attention_mask)
        graph = batch.graph
        if node_states is None:
            node_states = self.graph_encoder(graph.node_text, graph.node_type, graph.edge_index,
                                             graph.edge_flow, graph.edge_position)
        tokens, graph_vec, fused = self.fusion(token_states, batch.attention_mask, node_states,
                                               graph.batch, batch.num_programs,
                                               batch.window_program, graph.node_text,
                                               self._node_in_loop(graph))
        return {"fused": fused, "tokens": tokens, "graph": graph_vec,
                "token_states": token_states, "node_states": node_states}

    @torch.no_grad()
    def embed(self, batch: ProgramBatch) -> dict[str, torch.Tensor]:
        """The program embeddings only (``fused``, ``tokens``, ``graph``), without gradients.

        Call ``model.eval()`` first for deterministic embeddings (dropout off).
        """
        out = self.forward(batch)
        return {kind: out[kind].float() for kind in EMBEDDING_KINDS}

    def use_fast_inference(self, enabled: bool = True) -> MIREncoder:
        """Without gradients in eval mode, compute the same function in a cheaper order.

        The token encoder then projects the first block's ``qkv`` once per distinct token id,
        rotates ``q`` and ``k`` in one op and drops an all-true attention mask; the graph
        encoder runs on a :class:`~mirencoder.training.core.models.relation_plan.RelationPlan`.
        Results equal the default path's up to float rounding (about 1e-6); parameters and
        training are untouched. The embedder turns it on.
        """
        self.token_encoder.fast_inference = enabled
        self.graph_encoder.fast_inference = enabled
        return self

    def use_inference_dtype(self, dtype: torch.dtype) -> MIREncoder:
        """Casts the weights (and so the activations) to ``dtype`` for inference.

        ``torch.bfloat16`` halves the matmul cost on CPUs with bf16 units (AVX512-BF16, AMX)
        and on GPUs; embeddings then differ from float32 ones by about 1 % (cosine similarity
        above 0.9999 on the DevMap files, see BENCHMARKS.md). Rotary tables stay float32.
        Not for training (the optimizer state would be cast too).
        """
        self.to(dtype)
        for module in self.modules():
            if isinstance(module, RotaryEmbedding):  # angles are not weights: keep them exact
                module.cos, module.sin = module.cos.float(), module.sin.float()
        return self

    @torch.no_grad()
    def embed_tokens(self, tokens: torch.Tensor, attention_mask: torch.Tensor,
                     window_program: torch.Tensor | None = None,
                     num_programs: int | None = None) -> torch.Tensor:
        """The token-view embeddings ``[B, D]`` alone (``embed(batch)["tokens"]``).

        With ``window_program`` (``[W]``, the program of each token row, as
        ``collate_records(..., windows="all")`` gives it), one embedding per program pooled
        over its windows; ``num_programs`` defaults to ``window_program.max() + 1``.
        """
        states = self.token_encoder(tokens, attention_mask)
        return self.fusion.pool_tokens(states, attention_mask, window_program,
                                       num_programs).float()

    @torch.no_grad()
    def embed_graphs(self, graph: Batch) -> torch.Tensor:
        """The graph-view embeddings ``[B, D]`` alone (``embed(batch)["graph"]``)."""
        states = self.graph_encoder(graph.node_text, graph.node_type, graph.edge_index,
                                    graph.edge_flow, graph.edge_position)
        return self.fusion.pool_graph(states, graph.batch, graph.num_graphs,
                                      graph.node_text, self._node_in_loop(graph)).float()

    def _node_in_loop(self, graph: Batch) -> torch.Tensor | None:
        """``[N]`` bool loop membership of the nodes, for the loop-counting readout (else
        None): ``graph.node_in_loop`` when the batch carries it (pre-training sets it from the
        graph before any edge is hidden), otherwise computed from the graph's control edges."""
        if not self.config.loop_counting_readout:
            return None
        known = getattr(graph, "node_in_loop", None)
        if known is not None:
            return known.to(device=graph.node_text.device, dtype=torch.bool)
        return node_in_loop(graph.edge_index, graph.edge_flow, graph.num_nodes)

    @torch.no_grad()
    def fuse_embeddings(self, tokens: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
        """The fused embeddings ``[B, D]`` of token-view and graph-view embeddings.

        With :meth:`embed_tokens` and :meth:`embed_graphs`, equal to ``embed(batch)["fused"]``;
        the views can then be encoded apart (e.g. each distinct one once).
        """
        dtype = next(self.fusion.parameters()).dtype
        return self.fusion.fuse_vectors(tokens.to(dtype), graph.to(dtype)).float()

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
