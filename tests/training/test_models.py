"""Model shapes, parameter counts and the relational layer's sensitivity to flow, direction
and position."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, Data

from mirencoder.training.core.data.collate import collate_records
from mirencoder.training.core.data.token_ids import TokenizerIds
from mirencoder.training.core.model_config import ModelConfig
from mirencoder.training.core.models.encoder import MIREncoder, node_in_loop
from mirencoder.training.core.models.flow_position_conv import FlowPositionConv
from mirencoder.training.core.models.fusion import ModalityFusion, text_counts
from mirencoder.training.core.models.graph_encoder import GraphEncoder, straight_line_blocks
from mirencoder.training.core.models.rotary import RotaryEmbedding
from mirencoder.training.pretraining.config import load_pretrain_config

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"
IDS = TokenizerIds(pad_id=0, unk_id=1, cls_id=2, sep_id=3, mask_id=4, vocab_size=8192,
                   node_vocab_size=2048)


def _records(n=3):
    records = []
    for i in range(n):
        nodes = 5 + i
        records.append({"key": f"k{i}", "corpus": "c", "tokens": list(range(5, 5 + 10 * (i + 1))),
                        "node_type": [0] * nodes, "node_text": [2 + j for j in range(nodes)],
                        "edge_src": list(range(nodes - 1)), "edge_dst": list(range(1, nodes)),
                        "edge_flow": [0, 1] * ((nodes - 1) // 2) + [2] * ((nodes - 1) % 2),
                        "edge_position": [0] * (nodes - 1)})
    return records


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_tiny_and_base_sizes():
    from mirencoder.training.pretraining.pretraining_model import PretrainingModel

    tiny = load_pretrain_config(CONFIGS / "tiny.yaml")
    base = load_pretrain_config(CONFIGS / "base.yaml")
    tiny_encoder = MIREncoder(tiny.model, vocab_size=8192, node_vocab_size=2048, pad_id=0)
    base_encoder = MIREncoder(base.model, vocab_size=8192, node_vocab_size=2048, pad_id=0)
    # "a few million parameters": tiny 1-3 M with an 8k tokenizer; base sized for one GPU.
    assert 1_000_000 <= _count(tiny_encoder) <= 3_000_000
    assert 20_000_000 <= _count(base_encoder) <= 40_000_000
    heads = PretrainingModel(tiny.model, tiny.task, IDS)
    assert _count(heads) > _count(tiny_encoder)  # the task heads add parameters


@pytest.mark.parametrize("positions", ["learned", "rotary"])
def test_encoder_forward_shapes_and_embed(positions):
    config = load_pretrain_config(CONFIGS / "tiny.yaml", {"model.positions": positions,
                                                     "model.context_length": 32})
    model = MIREncoder(config.model, vocab_size=IDS.vocab_size, node_vocab_size=IDS.node_vocab_size,
                               pad_id=0).eval()
    batch = collate_records(_records(), context_length=32, tokenizer_ids=IDS)
    out = model(batch)
    d = config.model.fusion_dim
    for kind in ("fused", "tokens", "graph"):
        assert out[kind].shape == (3, d) and torch.isfinite(out[kind]).all()
    assert out["token_states"].shape == (3, 31, config.model.d_model)  # 30 tokens + [CLS]
    assert out["node_states"].shape == (5 + 6 + 7, config.model.gnn_hidden)
    embedded = model.embed(batch)
    assert set(embedded) == {"fused", "tokens", "graph"}
    assert torch.allclose(embedded["fused"], out["fused"])
    # Padding does not leak: a program embeds the same alone and in a batch.
    alone = model.embed(collate_records(_records()[:1], context_length=32, tokenizer_ids=IDS))
    assert torch.allclose(alone["fused"][0], embedded["fused"][0], atol=1e-5)


def test_gated_fusion_starts_as_the_raw_sum_and_its_gates_scale_each_term():
    """residual_gated draws the same weights as residual_raw (the gates start at 1 and take no
    random numbers), so both fuse alike at initialisation and an untrained twin is the same;
    a gate at 0 takes its term out of the fused vector and leaves the view vectors alone."""
    torch.manual_seed(0)
    raw = ModalityFusion(8, 8, 8, "residual_raw", graph_size=True, loop_text_counts=6)
    torch.manual_seed(0)
    gated = ModalityFusion(8, 8, 8, "residual_gated", graph_size=True, loop_text_counts=6)
    raw_state, gated_state = raw.state_dict(), gated.state_dict()
    assert set(gated_state) - set(raw_state) == {"gates.tokens", "gates.graph", "gates.mixed"}
    assert all(torch.equal(raw_state[name], gated_state[name]) for name in raw_state)
    tokens, graph = torch.randn(4, 8), torch.randn(4, 8)
    torch.testing.assert_close(gated.fuse_vectors(tokens, graph), raw.fuse_vectors(tokens, graph))
    mixed = gated.fuse(torch.cat([tokens, graph], dim=-1))
    with torch.no_grad():
        gated.gates.tokens.zero_()
        gated.gates.mixed[:4] = 0.0
        gated.gates.graph.fill_(0.5)
    expected = 0.5 * graph + torch.cat([torch.zeros(4, 4), mixed[:, 4:]], dim=1)
    torch.testing.assert_close(gated.fuse_vectors(tokens, graph), expected)


def test_sparse_fusion_starts_as_the_raw_sum_and_can_keep_only_the_counts():
    """residual_sparse equals residual_raw at initialisation (relu(1) = 1, the log-node-count
    map starts at 0); with every gate below 0 the graph and fused vectors are the counting
    path alone: the loop map plus the log-node-count map, nothing of the GNN, tokens or MLP."""
    torch.manual_seed(0)
    raw = ModalityFusion(8, 8, 8, "residual_raw", graph_size=True, loop_text_counts=6)
    torch.manual_seed(0)
    sparse = ModalityFusion(8, 8, 8, "residual_sparse", graph_size=True, loop_text_counts=6)
    raw_state, sparse_state = raw.state_dict(), sparse.state_dict()
    assert set(sparse_state) - set(raw_state) == {"gates.tokens", "gates.graph", "gates.mixed",
                                                  "size_count_proj.weight"}
    assert all(torch.equal(raw_state[name], sparse_state[name]) for name in raw_state)
    token_states, mask = torch.randn(2, 5, 8), torch.ones(2, 5, dtype=torch.bool)
    node_states, node_batch = torch.randn(10, 8), torch.tensor([0] * 4 + [1] * 6)
    node_text, in_loop = torch.randint(0, 6, (10,)), torch.rand(10) > 0.5
    inputs = (token_states, mask, node_states, node_batch, 2, None, node_text, in_loop)
    for ours, theirs in zip(sparse(*inputs), raw(*inputs), strict=True):
        torch.testing.assert_close(ours, theirs)
    with torch.no_grad():
        for gate in sparse.gates.parameters():
            gate.fill_(-0.1)
        sparse.size_count_proj.weight.fill_(2.0)
    loop_counts = text_counts(node_text[in_loop], node_batch[in_loop], 2, 6)
    counting = (sparse.loop_count_proj(torch.log1p(loop_counts))
                + 2.0 * torch.log1p(torch.tensor([[4.0], [6.0]])))
    _, graph, fused = sparse(*inputs)
    torch.testing.assert_close(graph, counting)
    torch.testing.assert_close(fused, counting)
    with pytest.raises(ValueError, match="counting readout"):
        ModalityFusion(8, 8, 8, "residual_sparse", graph_size=True)
    with pytest.raises(Exception, match="residual_sparse needs a counting"):
        load_pretrain_config(CONFIGS / "tiny.yaml", {"model.fusion": "residual_sparse"})


def test_residual_fusion_keeps_both_views_in_the_fused_vector():
    from torch import nn

    from mirencoder.training.core.models.fusion import ModalityFusion

    config = load_pretrain_config(CONFIGS / "tiny.yaml", {"model.fusion": "residual",
                                                     "model.context_length": 32})
    model = MIREncoder(config.model, vocab_size=IDS.vocab_size,
                       node_vocab_size=IDS.node_vocab_size, pad_id=0).eval()
    batch = collate_records(_records(), context_length=32, tokenizer_ids=IDS)
    out = model(batch)
    assert out["fused"].shape == (3, config.model.fusion_dim)
    from mirencoder.training.core.model_size import expected_state_shapes

    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {
        k: tuple(v) for k, v in expected_state_shapes(config.model, IDS.vocab_size,
                                                      IDS.node_vocab_size).items()}
    torch.testing.assert_close(model.fuse_embeddings(out["tokens"], out["graph"]), out["fused"])
    # with the MLP's output layer zeroed, the fused vector is LN(tokens + graph) exactly
    fusion = ModalityFusion(8, 8, 8, mode="residual")
    nn.init.zeros_(fusion.fuse[2].weight)
    nn.init.zeros_(fusion.fuse[2].bias)
    tokens, graph = torch.randn(4, 8), torch.randn(4, 8)
    torch.testing.assert_close(fusion.fuse_vectors(tokens, graph),
                               fusion.fuse_norm(tokens + graph))
    # without the final LayerNorm the fused vector is the plain sum: it keeps each program's
    # scale, which the norm divides out of every coordinate
    raw = ModalityFusion(8, 8, 8, mode="residual_raw")
    assert not hasattr(raw, "fuse_norm")
    mixed = raw.fuse(torch.cat([tokens, graph], dim=-1))
    torch.testing.assert_close(raw.fuse_vectors(tokens, graph), tokens + graph + mixed)
    nn.init.zeros_(raw.fuse[2].weight)
    nn.init.zeros_(raw.fuse[2].bias)
    torch.testing.assert_close(raw.fuse_vectors(3 * tokens, 3 * graph),
                               3 * raw.fuse_vectors(tokens, graph))
    assert not torch.allclose(fusion.fuse_vectors(3 * tokens, 3 * graph),
                              3 * fusion.fuse_vectors(tokens, graph))
    with pytest.raises(ValueError, match="fusion mode"):
        ModalityFusion(8, 8, 8, mode="sum")
    with pytest.raises(Exception, match="fusion must be one of"):
        load_pretrain_config(CONFIGS / "tiny.yaml", {"model.fusion": "sum"})


def test_whole_program_token_vectors_pool_every_window():
    config = load_pretrain_config(CONFIGS / "tiny.yaml", {"model.context_length": 8})
    model = MIREncoder(config.model, vocab_size=IDS.vocab_size,
                       node_vocab_size=IDS.node_vocab_size, pad_id=0).eval()
    records = _records()  # 10, 20 and 30 tokens: 2, 3 and 5 windows of 7
    whole = collate_records(records, context_length=8, tokenizer_ids=IDS, windows="all")
    assert whole.tokens.shape[0] == 10 and whole.window_program.tolist() == (
        [0] * 2 + [1] * 3 + [2] * 5)
    out = model.embed(whole)
    assert all(out[kind].shape == (3, config.model.fusion_dim) for kind in out)
    # The pooled features are the length-weighted mean of the windows' [CLS; mean] features.
    states = model.token_encoder(whole.tokens, whole.attention_mask)
    mask = whole.attention_mask.unsqueeze(-1).float()
    lengths = mask.sum(1)
    features = torch.cat([states[:, 0], (states * mask).sum(1) / lengths], dim=-1)
    expected = torch.stack([(features[whole.window_program == p] * lengths[whole.window_program
                                                                           == p]).sum(0)
                            / lengths[whole.window_program == p].sum() for p in range(3)])
    assert torch.allclose(out["tokens"], model.fusion.token_proj(expected), atol=1e-5)
    assert torch.allclose(model.embed_tokens(whole.tokens, whole.attention_mask,
                                             whole.window_program), out["tokens"], atol=1e-6)
    # One window: the same vectors as the single-window path.
    short = [dict(records[0], tokens=records[0]["tokens"][:7])]
    one = model.embed(collate_records(short, context_length=8, tokenizer_ids=IDS, windows="all"))
    first = model.embed(collate_records(short, context_length=8, tokenizer_ids=IDS))
    assert all(torch.allclose(one[kind], first[kind], atol=1e-6) for kind in first)
    # Windowed and first-window token vectors differ for long programs.
    assert not torch.allclose(out["tokens"][2], model.embed(collate_records(
        records, context_length=8, tokenizer_ids=IDS))["tokens"][2], atol=1e-3)


def test_flow_position_conv_sees_flow_direction_and_position():
    torch.manual_seed(0)
    conv = FlowPositionConv(8, 8, num_relations=6, num_positions=4)
    torch.nn.init.normal_(conv.relation_bias)  # make every part of the message non-zero
    x = torch.randn(3, 8)
    edge = torch.tensor([[0], [1]])

    def run(edge_index, flow, position):
        return conv(x, edge_index, torch.tensor([flow]), torch.tensor([position]))

    base = run(edge, 0, 0)
    assert not torch.allclose(base, run(edge, 1, 0))  # another flow
    assert not torch.allclose(base, run(edge.flip(0), 0, 0))  # the reverse direction
    assert not torch.allclose(base, run(edge, 0, 1))  # another operand position
    assert torch.allclose(run(edge, 0, 3), run(edge, 0, 9))  # positions >= 3 share one
    assert repr(conv) == "FlowPositionConv(8, 8, num_relations=6, num_positions=4)"
    before = conv.weight.detach().clone()
    conv.reset_parameters()
    assert not torch.equal(before, conv.weight)
    with pytest.raises(ValueError):
        FlowPositionConv(8, 8, num_relations=0, num_positions=4)


def test_rotary_preserves_norm_and_encodes_relative_position():
    rotary = RotaryEmbedding(8, 16)
    q = torch.randn(1, 1, 16, 8)
    assert torch.allclose(rotary(q).norm(dim=-1), q.norm(dim=-1), atol=1e-5)
    same = torch.ones(1, 1, 16, 8)
    rotated = rotary(same)
    # <R_i q, R_j k> depends on i - j only.
    assert torch.allclose(rotated[0, 0, 2] @ rotated[0, 0, 5], rotated[0, 0, 7] @ rotated[0, 0, 10],
                          atol=1e-5)


def test_no_torch_scatter_or_sparse_needed():
    assert "torch_scatter" not in sys.modules and "torch_sparse" not in sys.modules


def test_size_readout_tells_a_program_from_one_twice_its_size():
    torch.manual_seed(0)
    states = torch.randn(5, 8)
    nodes = torch.cat([states, states, states])  # graph 0: 5 nodes; graph 1: the same, twice
    batch = torch.tensor([0] * 5 + [1] * 10)
    blind = ModalityFusion(8, 8, 8, "residual").eval()
    sized = ModalityFusion(8, 8, 8, "residual", graph_size=True).eval()
    with torch.no_grad():
        same = blind.pool_graph(nodes, batch, 2)
        told = sized.pool_graph(nodes, batch, 2)
    assert torch.allclose(same[0], same[1])  # mean and max cannot see the size
    assert not torch.allclose(told[0], told[1])
    assert sized.graph_proj[0].in_features == blind.graph_proj[0].in_features + 1


def test_counting_readout_adds_a_linear_map_of_log_node_text_counts():
    torch.manual_seed(0)
    states = torch.randn(7, 8)
    batch = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    texts = torch.tensor([2, 2, 3, 4, 2, 5, 6])  # 6 is the [MASK] slot of a vocabulary of 6
    counts = text_counts(texts, batch, 2, 6)
    assert counts.tolist() == [[0, 0, 2, 1, 0, 0], [0, 0, 1, 0, 1, 1]]  # [MASK] not counted
    sized = ModalityFusion(8, 8, 8, "residual", graph_size=True).eval()
    counting = ModalityFusion(8, 8, 8, "residual", graph_size=True, text_counts=6).eval()
    counting.load_state_dict(sized.state_dict(), strict=False)
    with torch.no_grad():
        base = sized.pool_graph(states, batch, 2)
        told = counting.pool_graph(states, batch, 2, texts)
        expected = base + counting.count_proj(torch.log1p(counts))
    assert torch.allclose(told, expected)
    with pytest.raises(ValueError, match="node_text"):
        counting.pool_graph(states, batch, 2)
    # One coordinate can equal a text's log count exactly, whatever the node states.
    with torch.no_grad():
        counting.count_proj.weight.zero_()
        counting.count_proj.bias.zero_()
        counting.count_proj.weight[0, 2] = 1.0
        shifted = counting.pool_graph(states + 5.0, batch, 2, texts) - base
    assert torch.allclose(shifted[:, 0] - (sized.pool_graph(states + 5.0, batch, 2)
                                           - base)[:, 0], torch.log1p(counts[:, 2]))


def test_loop_counting_readout_counts_the_node_texts_of_the_nodes_in_loops():
    """graph_readout mean_max_size_loop_counts adds W_loop log1p(counts among the nodes on a
    control-flow cycle) to the counting readout; the encoder takes loop membership from the
    batch (pre-training sets it before hiding edges) or computes it from the control edges."""
    torch.manual_seed(0)
    states = torch.randn(7, 8)
    batch = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    texts = torch.tensor([2, 2, 3, 4, 2, 5, 6])
    in_loop = torch.tensor([True, False, True, False, True, True, True])
    counting = ModalityFusion(8, 8, 8, "residual_raw", graph_size=True, text_counts=6).eval()
    looping = ModalityFusion(8, 8, 8, "residual_raw", graph_size=True, text_counts=6,
                             loop_text_counts=6).eval()
    looping.load_state_dict(counting.state_dict(), strict=False)
    loop_counts = text_counts(texts[in_loop], batch[in_loop], 2, 6)
    assert loop_counts.tolist() == [[0, 0, 1, 1, 0, 0], [0, 0, 1, 0, 0, 1]]  # [MASK] not counted
    with torch.no_grad():
        expected = (counting.pool_graph(states, batch, 2, texts)
                    + looping.loop_count_proj(torch.log1p(loop_counts)))
        assert torch.allclose(looping.pool_graph(states, batch, 2, texts, in_loop), expected)
    with pytest.raises(ValueError, match="node_in_loop"):
        looping.pool_graph(states, batch, 2, texts)

    edges, flows = _loop_kernel_edges()
    assert node_in_loop(edges, flows, 8).tolist() == [False, False, True, True, True, False,
                                                      False, False]
    config = ModelConfig(d_model=16, heads=2, ffn=32, gnn_hidden=16, fusion_dim=8,
                         context_length=16, layers=1, gnn_layers=1, fusion="residual_raw",
                         graph_readout="mean_max_size_loop_counts")
    model = MIREncoder(config, vocab_size=20, node_vocab_size=6, pad_id=0).eval()
    graph = Batch.from_data_list([Data(node_text=torch.tensor([2, 3, 2, 4, 5, 2, 3, 4]),
                                       node_type=torch.zeros(8, dtype=torch.long),
                                       edge_index=edges, edge_flow=flows,
                                       edge_position=torch.zeros(edges.size(1),
                                                                 dtype=torch.long))])
    computed = model.embed_graphs(graph)
    graph.node_in_loop = torch.zeros(8, dtype=torch.bool)  # a batch that says: no loop
    told = model.embed_graphs(graph)
    assert not torch.allclose(computed, told)
    graph.node_in_loop = node_in_loop(edges, flows, 8)
    assert torch.allclose(model.embed_graphs(graph), computed)


def test_loop_only_counting_readout_adds_the_loop_map_and_no_whole_program_counts():
    """graph_readout mean_max_size_loop_only_counts: the size-aware readout plus W_loop
    log1p(counts among the nodes in loops), with no map of the whole program's counts."""
    torch.manual_seed(0)
    states = torch.randn(7, 8)
    batch = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    texts = torch.tensor([2, 2, 3, 4, 2, 5, 6])
    in_loop = torch.tensor([True, False, True, False, True, True, True])
    sized = ModalityFusion(8, 8, 8, "residual_raw", graph_size=True).eval()
    looping = ModalityFusion(8, 8, 8, "residual_raw", graph_size=True, loop_text_counts=6).eval()
    looping.load_state_dict(sized.state_dict(), strict=False)
    assert not hasattr(looping, "count_proj")
    with torch.no_grad():
        expected = (sized.pool_graph(states, batch, 2) + looping.loop_count_proj(
            torch.log1p(text_counts(texts[in_loop], batch[in_loop], 2, 6))))
        assert torch.allclose(looping.pool_graph(states, batch, 2, texts, in_loop), expected)
    with pytest.raises(ValueError, match="node_text"):
        looping.pool_graph(states, batch, 2)
    config = ModelConfig(d_model=16, heads=2, ffn=32, gnn_hidden=16, fusion_dim=8,
                         context_length=16, layers=1, gnn_layers=1, fusion="residual_raw",
                         graph_readout="mean_max_size_loop_only_counts")
    assert config.loop_counting_readout and not config.counting_readout
    model = MIREncoder(config, vocab_size=20, node_vocab_size=6, pad_id=0).eval()
    assert hasattr(model.fusion, "loop_count_proj") and not hasattr(model.fusion, "count_proj")


def _loop_kernel_edges() -> tuple[torch.Tensor, torch.Tensor]:
    """Control edges of entry 0-1 branching to a loop 2-3-4 (latch 4 -> 2) or exit 5-6,
    plus a data edge 3 -> 7 (a variable)."""
    control = [(0, 1), (1, 2), (1, 5), (2, 3), (3, 4), (4, 2), (4, 5), (5, 6)]
    edges = torch.tensor(control + [(3, 7)]).T
    return edges, torch.tensor([0] * len(control) + [1])


def test_straight_line_blocks_are_basic_blocks():
    edges, flow = _loop_kernel_edges()
    assert straight_line_blocks(edges, flow, 8).tolist() == [0, 0, 2, 2, 2, 5, 5, 7]
    # One long chain (pointer jumping must reach its head) and a batch of two graphs.
    chain = torch.tensor([list(range(99)), list(range(1, 100))])
    assert straight_line_blocks(chain, torch.zeros(99, dtype=torch.long), 100).eq(0).all()
    both = straight_line_blocks(torch.cat([edges, edges + 8], 1), torch.cat([flow, flow]), 16)
    assert both[8:].tolist() == [b + 8 for b in [0, 0, 2, 2, 2, 5, 5, 7]]


def test_block_pooling_reaches_a_whole_block_in_one_layer():
    # Entry 0-1, then a loop body 2-3-4-5-6 with latch 6 -> 2, exit 7.
    control = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 2), (6, 7)]
    edges, flow = torch.tensor(control).T, torch.zeros(len(control), dtype=torch.long)
    position = torch.zeros(len(control), dtype=torch.long)
    assert straight_line_blocks(edges, flow, 8).tolist() == [0, 0, 2, 2, 2, 2, 2, 7]
    text, kinds = torch.arange(2, 10), torch.zeros(8, dtype=torch.long)
    changed = text.clone()
    changed[2] = 30  # the loop header's text
    for pooling in (False, True):
        torch.manual_seed(0)
        gnn = GraphEncoder(node_vocab_size=40, hidden=8, layers=1, num_positions=2,
                           dropout=0.0, block_pooling=pooling).eval()
        with torch.no_grad():
            a = gnn(text, kinds, edges, flow, position)
            b = gnn(changed, kinds, edges, flow, position)
        moved = {i for i in range(8) if not torch.allclose(a[i], b[i])}
        # One layer: the header's neighbours (1, 3 and the latch 6), and with pooling its
        # whole block (4 and 5 are two hops away), but never the other blocks' far nodes.
        assert moved == ({1, 2, 3, 6} | ({4, 5} if pooling else set()))
    assert "block_pooling=True" in repr(GraphEncoder(node_vocab_size=4, hidden=4, layers=1,
                                                     num_positions=1, dropout=0.0,
                                                     block_pooling=True))


def test_straight_line_blocks_of_real_ir_lie_wholly_in_or_out_of_loops():
    from mirencoder.pipelines.frontend.views import graph_view
    from mirencoder.pipelines.ir.loops import on_control_cycle
    from mirencoder.pipelines.ir.normalize import normalize_ir

    ir = (Path(__file__).resolve().parents[1] / "data" / "dot_loop.ll").read_bytes()
    graph = graph_view(normalize_ir(ir, bitcode=False))
    in_loop = on_control_cycle(graph.edge_src, graph.edge_dst, graph.edge_flow,
                               graph.num_nodes)
    block = straight_line_blocks(torch.tensor(np.stack([graph.edge_src, graph.edge_dst]),
                                              dtype=torch.long),
                                 torch.tensor(graph.edge_flow, dtype=torch.long),
                                 graph.num_nodes).numpy()
    assert in_loop.any() and len(np.unique(block)) < graph.num_nodes  # loops, real blocks
    for first in np.unique(block):
        assert len(set(in_loop[block == first].tolist())) == 1, first
        assert block[first] == first  # a block is named by its first node
