"""The encoder's inference path computes the training path's function (up to float rounding)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mirencoder.training.core.data.collate import collate_graphs, collate_records, pad_token_rows
from mirencoder.training.core.data.token_ids import TokenizerIds
from mirencoder.training.core.models.encoder import MIREncoder
from mirencoder.training.core.models.flow_position_conv import FlowPositionConv
from mirencoder.training.core.models.graph_encoder import add_reverse_edges
from mirencoder.training.core.models.relation_plan import build_relation_plan
from mirencoder.training.pretraining.config import load_pretrain_config

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"
IDS = TokenizerIds(pad_id=0, unk_id=1, cls_id=2, sep_id=3, mask_id=4, vocab_size=300,
                   node_vocab_size=40)


def _graph_record(rng: np.random.Generator, nodes: int, edges: int, tokens: int, key: str):
    src = rng.integers(0, nodes, edges)
    dst = rng.integers(0, nodes, edges)
    if edges > 2:  # a multi-edge: the same pair, flow and position twice
        src[1], dst[1] = src[0], dst[0]
    flow = rng.integers(0, 3, edges)
    if edges > 2:
        flow[1] = flow[0]
    return {"key": key, "corpus": "c",
            "tokens": rng.integers(5, IDS.vocab_size, tokens).astype(np.int32),
            "node_type": rng.integers(0, 3, nodes).astype(np.int8),
            "node_text": rng.integers(0, IDS.node_vocab_size, nodes).astype(np.int32),
            "edge_src": src.astype(np.int32), "edge_dst": dst.astype(np.int32),
            "edge_flow": flow.astype(np.int8),
            "edge_position": rng.integers(0, 12, edges).astype(np.int32)}


def _records():
    rng = np.random.default_rng(0)
    records = [_graph_record(rng, 30, 70, 50, "a"), _graph_record(rng, 12, 0, 7, "no-edges"),
               _graph_record(rng, 45, 120, 80, "b")]
    records[2]["tokens"][:20] = 9  # repeated ids
    return records


def _model(positions: str, graph_readout: str = "mean_max", block_pooling: bool = False):
    config = load_pretrain_config(CONFIGS / "tiny.yaml", {
        "model.positions": positions, "model.graph_readout": graph_readout,
        "model.gnn_block_pooling": block_pooling, "model.context_length": 64, "model.d_model": 32,
        "model.heads": 4, "model.ffn": 64, "model.gnn_hidden": 32, "model.fusion_dim": 32,
        "model.num_edge_positions": 8})
    torch.manual_seed(0)
    model = MIREncoder(config.model, vocab_size=IDS.vocab_size, node_vocab_size=IDS.node_vocab_size,
                               pad_id=0).eval()
    with torch.no_grad():  # make the zero-initialised relation biases matter
        for conv in model.graph_encoder.convs:
            conv.relation_bias.normal_()
    return model


@pytest.mark.parametrize(("positions", "graph_readout", "block_pooling"), [
    ("rotary", "mean_max", False), ("learned", "mean_max", False),
    ("rotary", "mean_max_size", False), ("learned", "mean_max", True),
    ("rotary", "mean_max_size_counts", False), ("rotary", "mean_max_size_loop_counts", False),
    ("rotary", "mean_max_size_loop_only_counts", False)])
def test_fast_inference_equals_the_training_computation(positions, graph_readout,
                                                        block_pooling):
    model = _model(positions, graph_readout, block_pooling)
    records = _records()
    batch = collate_records(records, context_length=64, tokenizer_ids=IDS)
    full = collate_records(records[:1] * 2, context_length=64, tokenizer_ids=IDS)  # no padding
    reference = [model.embed(b) for b in (batch, full)]
    with torch.no_grad():
        states = model(batch)
    model.use_fast_inference()
    for b, ref in zip((batch, full), reference, strict=True):
        fast = model.embed(b)
        for kind in ("fused", "tokens", "graph"):
            assert torch.allclose(fast[kind], ref[kind], atol=1e-5), kind
    with torch.inference_mode():
        fast_states = model(batch)
    for kind in ("token_states", "node_states"):
        assert torch.allclose(fast_states[kind], states[kind], atol=1e-5), kind
    # The views apart, then fused, give the same embeddings.
    rows = [batch.tokens[i, 1:][batch.attention_mask[i, 1:]].numpy() for i in range(3)]
    tokens = model.embed_tokens(*pad_token_rows(rows, IDS))
    graph = model.embed_graphs(collate_graphs(records, node_vocab_size=IDS.node_vocab_size))
    assert torch.allclose(tokens, reference[0]["tokens"], atol=1e-5)
    assert torch.allclose(graph, reference[0]["graph"], atol=1e-5)
    assert torch.allclose(model.fuse_embeddings(tokens, graph), reference[0]["fused"], atol=1e-5)


def test_training_keeps_its_own_path():
    model = _model("rotary")
    batch = collate_records(_records(), context_length=64, tokenizer_ids=IDS)
    before = model(batch)
    model.use_fast_inference()
    after = model(batch)  # gradients on: the training path, bit for bit
    for kind in ("fused", "token_states", "node_states"):
        assert torch.equal(before[kind], after[kind])
    after["fused"].sum().backward()
    assert model.graph_encoder.convs[0].weight.grad is not None


def test_relation_plan_layer_equals_per_edge_messages():
    torch.manual_seed(1)
    conv = FlowPositionConv(16, 16, num_relations=6, num_positions=4)
    torch.nn.init.normal_(conv.relation_bias)
    x = torch.randn(20, 16)
    edge_index = torch.tensor([[0, 0, 1, 2, 2, 5, 7, 7], [1, 1, 2, 3, 3, 6, 0, 9]])
    flow = torch.tensor([0, 0, 1, 1, 2, 0, 1, 1])
    position = torch.tensor([0, 0, 1, 9, 0, 3, 2, 2])
    edges, relation, positions = add_reverse_edges(edge_index, flow, position)
    plan = build_relation_plan(edges, relation, positions, 20, num_relations=6,
                               num_positions=4)
    with torch.no_grad():
        assert torch.allclose(conv(x, edges, relation, positions, plan=plan),
                              conv(x, edges, relation, positions), atol=1e-5)
        # Inputs shared per key: the per-key layer equals the layer on the gathered inputs.
        node_key = torch.randint(0, 5, (20,))
        x_keys = torch.randn(5, 16)
        keyed = build_relation_plan(edges, relation, positions, 20, num_relations=6,
                                    num_positions=4, node_key=node_key, num_keys=5)
        assert torch.allclose(conv.forward_per_key(x_keys, keyed),
                              conv(x_keys[node_key], edges, relation, positions), atol=1e-5)
        empty = torch.zeros(2, 0, dtype=torch.long)
        none = torch.zeros(0, dtype=torch.long)
        lone = build_relation_plan(empty, none, none, 20, num_relations=6, num_positions=4)
        assert torch.allclose(conv(x, empty, none, none, plan=lone), conv.root(x))
