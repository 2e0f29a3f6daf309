"""The encoder's weights as its config implies them, computed without building the model.

:func:`expected_state_shapes` lists every tensor of ``MIREncoder.state_dict()`` (names and
shapes) from a :class:`ModelConfig` and the two vocabulary sizes; the package loader checks a
weights file's header against it and the byte size against a limit before it allocates
anything. ``tests/training/test_model_size.py`` keeps it equal to a built model's state dict.
"""

from __future__ import annotations

from math import prod

from ...pipelines.ir.program_graph import FLOWS, NODE_TYPES
from .model_config import ModelConfig

__all__ = ["expected_state_shapes", "parameter_count", "parameter_bytes"]

Shapes = dict[str, tuple[int, ...]]


def _linear(prefix: str, fan_in: int, fan_out: int) -> Shapes:
    return {f"{prefix}.weight": (fan_out, fan_in), f"{prefix}.bias": (fan_out,)}


def _norm(prefix: str, width: int) -> Shapes:
    return {f"{prefix}.weight": (width,), f"{prefix}.bias": (width,)}


def _token_encoder(c: ModelConfig, vocab_size: int) -> Shapes:
    d = c.d_model
    shapes: Shapes = {"embedding.weight": (vocab_size, d)}
    if c.positions == "learned":
        shapes["position.weight"] = (c.context_length, d)
    for i in range(c.layers):
        block = f"blocks.{i}"
        shapes |= _norm(f"{block}.norm1", d) | _linear(f"{block}.qkv", d, 3 * d)
        shapes |= _linear(f"{block}.out", d, d) | _norm(f"{block}.norm2", d)
        shapes |= _linear(f"{block}.ffn.0", d, c.ffn) | _linear(f"{block}.ffn.3", c.ffn, d)
    return shapes | _norm("norm", d)


def _graph_encoder(c: ModelConfig, node_vocab_size: int) -> Shapes:
    h, relations = c.gnn_hidden, 2 * len(FLOWS)  # each flow forward and reversed
    shapes: Shapes = {"node_text.weight": (node_vocab_size + 1, h),  # + the [MASK] slot
                      "node_type.weight": (len(NODE_TYPES), h)}
    for i in range(c.gnn_layers):
        shapes |= {f"convs.{i}.weight": (h, relations * h),
                   f"convs.{i}.relation_bias": (relations, h),
                   f"convs.{i}.position.weight": (c.num_edge_positions, h)}
        shapes |= _linear(f"convs.{i}.root", h, h)
    for i in range(c.gnn_layers):
        shapes |= _norm(f"norms.{i}", h)
    for i in range(c.gnn_layers if c.gnn_block_pooling else 0):
        shapes |= _linear(f"block_projections.{i}", h, h)
    return shapes | _norm("final_norm", h)


def _fusion(c: ModelConfig, node_vocab_size: int) -> Shapes:
    f = c.fusion_dim
    counts = _linear("count_proj", node_vocab_size, f) if c.counting_readout else {}
    if c.loop_counting_readout:
        counts |= _linear("loop_count_proj", node_vocab_size, f)
    return (_linear("token_proj.0", 2 * c.d_model, f) | _norm("token_proj.1", f)
            | _linear("graph_proj.0", 2 * c.gnn_hidden + c.graph_size_readout, f)
            | _norm("graph_proj.1", f) | counts
            | _linear("fuse.0", 2 * f, f) | _linear("fuse.2", f, f)
            | _fusion_weights(c.fusion, f))


def _fusion_weights(fusion: str, f: int) -> Shapes:
    """What the fusion mode adds: the fused vector's final LayerNorm (inside the MLP, after
    the residual sum), the gates of the gated sums (and the sparse sum's log-node-count map),
    or nothing."""
    gates = {f"gates.{term}": (f,) for term in ("tokens", "graph", "mixed")}
    return {"mlp": _norm("fuse.3", f), "residual": _norm("fuse_norm", f),
            "residual_gated": gates,
            "residual_sparse": gates | {"size_count_proj.weight": (f, 1)}}.get(fusion, {})


def expected_state_shapes(config: ModelConfig, vocab_size: int, node_vocab_size: int
                          ) -> Shapes:
    """``{name: shape}`` of every tensor in ``MIREncoder(config, ...).state_dict()``."""
    parts = {"token_encoder": _token_encoder(config, vocab_size),
             "graph_encoder": _graph_encoder(config, node_vocab_size),
             "fusion": _fusion(config, node_vocab_size)}
    return {f"{part}.{name}": shape for part, shapes in parts.items()
            for name, shape in shapes.items()}


def parameter_count(config: ModelConfig, vocab_size: int, node_vocab_size: int) -> int:
    """``sum(p.numel() for p in model.parameters())`` of the encoder ``config`` describes."""
    return sum(prod(shape) for shape in
               expected_state_shapes(config, vocab_size, node_vocab_size).values())


def parameter_bytes(config: ModelConfig, vocab_size: int, node_vocab_size: int,
                    bytes_per_value: int = 4) -> int:
    """Bytes of those parameters (float32 by default)."""
    return parameter_count(config, vocab_size, node_vocab_size) * bytes_per_value
