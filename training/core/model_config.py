"""Sizes of the encoder: the one configuration the model core needs (pre-training,
the encoder package and the embedder all read it)."""

from __future__ import annotations

from dataclasses import dataclass

from ...infra.config import check as _check
from ...infra.config import help_field as _f
from ...infra.config import raise_problems as _raise

__all__ = ["ModelConfig", "ENCODER_OUTPUTS", "FUSIONS", "GRAPH_READOUTS"]

# The encoder's pooled vectors (ModalityFusion's outputs): what the embedder returns, the
# probes and DevMap diagnostics score, fine-tuning reads and the principal basis covers.
ENCODER_OUTPUTS = ("fused", "tokens", "graph")

FUSIONS = ("mlp", "residual", "residual_raw", "residual_gated", "residual_sparse")
GRAPH_READOUTS = ("mean_max", "mean_max_size", "mean_max_size_counts",
                  "mean_max_size_loop_counts", "mean_max_size_loop_only_counts")


@dataclass(kw_only=True, slots=True)
class ModelConfig:
    """Sizes of the token encoder, the graph encoder and the fusion."""

    d_model: int = _f(128, "token-encoder width")
    layers: int = _f(2, "token-encoder transformer layers")
    heads: int = _f(4, "attention heads (must divide d_model)")
    ffn: int = _f(512, "feed-forward width of each transformer layer")
    dropout: float = _f(0.1, "dropout in both encoders")
    context_length: int = _f(256, "token window length, [CLS] included")
    positions: str = _f("learned", "token positions: learned | rotary")
    gnn_hidden: int = _f(128, "graph-encoder node-state width")
    gnn_layers: int = _f(3, "relational message-passing layers")
    gnn_block_pooling: bool = _f(
        False, "each GNN layer also passes every node the mean state of its straight-line "
        "block (models/graph_encoder.py straight_line_blocks), so a block's header and latch "
        "reach all its instructions in one hop")
    num_edge_positions: int = _f(32, "edge-position embeddings; larger positions share the last")
    fusion_dim: int = _f(128, "size D of the program embeddings (fused, tokens, graph)")
    fusion: str = _f("mlp", "fused vector: mlp = LN(MLP([tokens; graph])) | residual = "
                     "LN(tokens + graph + MLP([tokens; graph])), which keeps both views' "
                     "vectors linearly in the fused one | residual_raw = the same without the "
                     "final LayerNorm, so that a fused coordinate can follow a property on its "
                     "own scale (a LayerNorm standardises each program's vector over its "
                     "coordinates, which takes its size out of every coordinate: "
                     "BENCHMARKS.md layernorm-ceiling) | residual_gated = g_t * tokens + "
                     "g_g * graph + g_m * MLP([tokens; graph]), learned per-coordinate gates "
                     "starting at 1 (the untrained model is residual_raw's), so the fused "
                     "vector can drop what of a view its own objectives keep in the view | "
                     "residual_sparse = relu(g_t) * tokens + graph + relu(g_m) * MLP, the graph "
                     "vector's GNN part scaled by relu(g_g) and its counting part joined by a "
                     "map of the log node count that starts at 0: a gate that training drives "
                     "below 0 is exactly 0, so the fused vector can become the counting "
                     "readout's alone (needs a counting graph_readout)")
    graph_readout: str = _f(
        "mean_max", "graph-view pooling: mean_max = [mean; max] of the node states (blind to "
        "the program's size) | mean_max_size = [mean; max; log1p(node count) / 8], so that "
        "the vectors can carry how big the program is (RESULTS.md: its log instruction count "
        "alone rivals every representation on several protocols) | mean_max_size_counts = "
        "mean_max_size plus a linear map of log1p(node count of each node text), added to the "
        "graph vector: a readout that can count (DeepSets sum pooling of the node texts), so "
        "that anchored coordinates can follow node-text counts exactly on any corpus | "
        "mean_max_size_loop_counts = mean_max_size_counts plus a second linear map of "
        "log1p(node count of each node text among the nodes on a control-flow cycle, "
        "pipelines/ir/loops.py): the same readout over what runs in loops | "
        "mean_max_size_loop_only_counts = mean_max_size plus only that loop map: no path "
        "carries the whole program's counts, so they cannot stand in for the loop counts")

    @property
    def graph_size_readout(self) -> bool:
        """Whether the graph readout carries the log node count."""
        return self.graph_readout != "mean_max"

    @property
    def counting_readout(self) -> bool:
        """Whether the graph readout adds the node-text counts' projection."""
        return self.graph_readout in ("mean_max_size_counts", "mean_max_size_loop_counts")

    @property
    def loop_counting_readout(self) -> bool:
        """Whether the graph readout also counts the node texts of the nodes in loops."""
        return self.graph_readout in ("mean_max_size_loop_counts",
                                      "mean_max_size_loop_only_counts")

    def __post_init__(self) -> None:
        p: list[str] = []
        for name in ("d_model", "layers", "heads", "ffn", "gnn_hidden", "gnn_layers",
                     "num_edge_positions", "fusion_dim"):
            _check(p, getattr(self, name) >= 1, f"{name} must be >= 1")
        _check(p, self.heads >= 1 and self.d_model % max(self.heads, 1) == 0,
               f"heads ({self.heads}) must divide d_model ({self.d_model})")
        _check(p, self.positions != "rotary" or (self.d_model // max(self.heads, 1)) % 2 == 0,
               "rotary positions need an even head dimension")
        _check(p, 0.0 <= self.dropout < 1.0, "dropout must be in [0, 1)")
        _check(p, self.context_length >= 2, "context_length must be >= 2 ([CLS] + one token)")
        _check(p, self.positions in ("learned", "rotary"), "positions must be learned or rotary")
        _check(p, self.fusion in FUSIONS, f"fusion must be one of {', '.join(FUSIONS)}")
        _check(p, self.graph_readout in GRAPH_READOUTS,
               f"graph_readout must be one of {', '.join(GRAPH_READOUTS)}")
        _check(p, self.fusion != "residual_sparse" or self.counting_readout
               or self.loop_counting_readout,
               "fusion residual_sparse needs a counting graph_readout (mean_max_size_counts, "
               "mean_max_size_loop_counts or mean_max_size_loop_only_counts)")
        _raise(p, "model")
