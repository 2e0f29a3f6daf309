"""Collation: [CLS] + one token window, padding, graph batching and cuts, bad records."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mirencoder.infra.errors import ShardError
from mirencoder.training.core.data.collate import collate_records, token_window
from mirencoder.training.core.data.token_ids import TokenizerIds

IDS = TokenizerIds(pad_id=0, unk_id=1, cls_id=2, sep_id=3, mask_id=4, vocab_size=100,
                   node_vocab_size=10)


def _record(tokens, nodes=4, key="k"):
    return {"key": key, "corpus": "c", "tokens": np.asarray(tokens, dtype=np.int32),
            "node_type": np.zeros(nodes, np.int8), "node_text": np.full(nodes, 3, np.int32),
            "edge_src": np.arange(nodes - 1, dtype=np.int32),
            "edge_dst": np.arange(1, nodes, dtype=np.int32),
            "edge_flow": np.ones(nodes - 1, np.int8),
            "edge_position": np.arange(nodes - 1, dtype=np.int32)}


def test_cls_padding_mask_and_graph_batch():
    batch = collate_records([_record([5, 6, 7]), _record([8], nodes=2)], context_length=16,
                            tokenizer_ids=IDS)
    assert batch.tokens.tolist() == [[2, 5, 6, 7], [2, 8, 0, 0]]
    assert batch.attention_mask.tolist() == [[True] * 4, [True, True, False, False]]
    graph = batch.graph
    assert graph.num_graphs == 2 and graph.num_nodes == 6
    assert graph.edge_index.tolist() == [[0, 1, 2, 4], [1, 2, 3, 5]]  # offsets applied
    assert graph.batch.tolist() == [0, 0, 0, 0, 1, 1] and graph.ptr.tolist() == [0, 4, 6]
    assert batch.num_tokens.tolist() == [3, 1] and batch.keys == ["k", "k"]
    assert batch.tokens.dtype == torch.long and graph.edge_flow.dtype == torch.long


def test_long_programs_first_window_at_eval_random_in_training():
    tokens = list(range(10, 60))
    first = collate_records([_record(tokens)], context_length=8, tokenizer_ids=IDS)
    assert first.tokens[0].tolist() == [2] + tokens[:7]
    starts = set()
    for seed in range(20):
        batch = collate_records([_record(tokens)], context_length=8, tokenizer_ids=IDS,
                                rng=np.random.default_rng(seed))
        row = batch.tokens[0].tolist()
        assert row[0] == 2 and row[1:] == list(range(row[1], row[1] + 7))
        starts.add(row[1])
    assert len(starts) > 5
    again = token_window(np.arange(50), 7, np.random.default_rng(3))
    assert again.tolist() == token_window(np.arange(50), 7, np.random.default_rng(3)).tolist()
    # A leading [CLS] in the data is not doubled.
    assert collate_records([_record([2, 5])], context_length=8,
                           tokenizer_ids=IDS).tokens[0].tolist() == [2, 5]


def test_graph_cut_keeps_first_nodes_and_their_edges():
    batch = collate_records([_record([5], nodes=10)], context_length=8, tokenizer_ids=IDS,
                            max_graph_nodes=4)
    assert batch.graph.num_nodes == 4 and batch.num_nodes.tolist() == [10]
    assert batch.graph.edge_index.tolist() == [[0, 1, 2], [1, 2, 3]]


def test_bad_records_raise_shard_errors():
    with pytest.raises(ShardError, match="token id outside"):
        collate_records([_record([5, 500])], context_length=8, tokenizer_ids=IDS)
    broken = _record([5])
    broken["edge_dst"] = broken["edge_dst"] + 10
    with pytest.raises(ShardError, match="edge endpoint"):
        collate_records([broken], context_length=8, tokenizer_ids=IDS)
    wrong_text = _record([5])
    wrong_text["node_text"] = wrong_text["node_text"] + 20
    with pytest.raises(ShardError, match="node-text id"):
        collate_records([wrong_text], context_length=8, tokenizer_ids=IDS)


def test_all_windows_of_long_programs_and_their_program_index():
    from mirencoder.training.core.data.collate import token_windows

    long, short = list(range(10, 30)), [5, 6]  # 20 tokens: windows of 7 -> 7, 7, 6
    batch = collate_records([_record(long, key="a"), _record(short, key="b")], context_length=8,
                            tokenizer_ids=IDS, windows="all")
    assert batch.window_program.tolist() == [0, 0, 0, 1] and batch.num_programs == 2
    assert batch.tokens[:, 0].tolist() == [2] * 4
    assert batch.tokens[0, 1:].tolist() == long[:7] and batch.tokens[1, 1:].tolist() == long[7:14]
    assert batch.tokens[2, 1:7].tolist() == long[14:] and batch.attention_mask[2].sum() == 7
    assert batch.tokens[3, 1:3].tolist() == short and batch.graph.num_graphs == 2
    capped = collate_records([_record(long)], context_length=8, tokenizer_ids=IDS,
                             windows="all", max_windows=2)
    assert capped.window_program.tolist() == [0, 0]  # the first max_windows windows
    first = collate_records([_record(long)], context_length=8, tokenizer_ids=IDS)
    assert first.window_program is None and torch.equal(first.tokens[0], capped.tokens[0])
    empty = token_windows(_record([]), context_length=8, tokenizer_ids=IDS)
    assert len(empty) == 1 and empty[0].size == 0
    with pytest.raises(ValueError, match="windows"):
        collate_records([_record(long)], context_length=8, tokenizer_ids=IDS, windows="some")
    moved = batch.to("cpu")
    assert torch.equal(moved.window_program, batch.window_program)


def test_groups_default_to_the_key():
    records = [_record([5], key="a"), _record([6], key="b"), _record([7], key="c")]
    records[0]["group"] = "src.c"
    records[2]["group"] = "src.c"
    batch = collate_records(records, context_length=8, tokenizer_ids=IDS)
    assert batch.groups == ["src.c", "b", "src.c"]
