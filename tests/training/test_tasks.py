"""The three pre-training tasks: masking statistics, edge negatives, matching partners."""

from __future__ import annotations

import torch

from mirencoder.training.core.data.collate import collate_records
from mirencoder.training.core.data.token_ids import TokenizerIds
from mirencoder.training.core.model_config import ModelConfig
from mirencoder.training.pretraining.config import TaskConfig
from mirencoder.training.pretraining.pretraining_model import PretrainingModel
from mirencoder.training.pretraining.tasks.graph_autoencoding import (
    sample_negative_edges,
    split_edges,
)
from mirencoder.training.pretraining.tasks.masked_tokens import (
    IGNORE_INDEX,
    mask_tokens,
    mlm_metrics,
)
from mirencoder.training.pretraining.tasks.matching import matching_partners
from mirencoder.training.pretraining.tasks.task_inputs import prepare_task_inputs

IDS = TokenizerIds(pad_id=0, unk_id=1, cls_id=2, sep_id=3, mask_id=4, vocab_size=50,
                   node_vocab_size=12)


def test_bert_masking_rates_and_specials_untouched():
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(5, 50, (64, 200))
    tokens[:, 0] = IDS.cls_id
    tokens[:, 150:] = IDS.pad_id
    mask = tokens != IDS.pad_id
    inputs, labels = mask_tokens(tokens, mask, ids=IDS, rate=0.15, mask_fraction=0.8,
                                 random_fraction=0.1, generator=generator)
    chosen = labels != IGNORE_INDEX
    assert not chosen[:, 0].any() and not chosen[:, 150:].any()
    rate = chosen.sum() / mask[:, 1:].sum()
    assert 0.13 < rate < 0.17
    masked = (inputs == IDS.mask_id) & chosen
    kept = (inputs == tokens) & chosen
    assert 0.77 < masked.sum() / chosen.sum() < 0.83
    assert 0.07 < kept.sum() / chosen.sum() < 0.14  # 10 % kept + random hits of the same id
    assert torch.equal(labels[chosen], tokens[chosen])
    assert torch.equal(inputs[~chosen], tokens[~chosen])
    again = mask_tokens(tokens, mask, ids=IDS, rate=0.15, mask_fraction=0.8,
                        random_fraction=0.1, generator=torch.Generator().manual_seed(0))
    assert torch.equal(again[0], inputs)  # reproducible from the seed


def test_unigram_baseline_is_the_mode_share():
    targets = torch.tensor([7, 7, 7, 9])
    logits = torch.nn.functional.one_hot(torch.tensor([7, 7, 9, 9]), 10).float() * 10
    metrics = mlm_metrics(logits, targets)
    assert metrics["unigram_accuracy"] == 0.75 and metrics["accuracy"] == 0.75


def test_negative_edges_stay_in_their_graph_and_are_not_edges():
    generator = torch.Generator().manual_seed(1)
    # two graphs: nodes 0-3 (a chain) and 4-9 (a chain)
    edge_index = torch.tensor([[0, 1, 2, 4, 5, 6, 7, 8], [1, 2, 3, 5, 6, 7, 8, 9]])
    node_batch = torch.tensor([0] * 4 + [1] * 6)
    ptr = torch.tensor([0, 4, 10])
    src, dst = sample_negative_edges(edge_index, edge_index[0], node_batch, ptr, ratio=20,
                                     generator=generator)
    assert src.numel() > 50
    assert torch.equal(node_batch[src], node_batch[dst])
    existing = set(zip(edge_index[0].tolist(), edge_index[1].tolist(), strict=True))
    assert not existing & set(zip(src.tolist(), dst.tolist(), strict=True))
    split = split_edges(1000, mask_rate=0.2, max_positives=100, generator=generator)
    assert split.positives.numel() == 100 and 150 < (~split.visible).sum() < 250
    assert not split.visible[split.positives].any()


def test_matching_partners_never_self_and_hard_ones_are_near():
    generator = torch.Generator().manual_seed(2)
    sizes = torch.tensor([10, 11, 50, 52, 200, 205, 1000, 990])
    partners = matching_partners(sizes, ["a"] * 8, hard_fraction=1.0, mode="size",
                                 generator=generator)
    assert partners.tolist() == [1, 0, 3, 2, 5, 4, 7, 6]
    corpora = ["x", "y", "x", "y", "x", "y", "x", "y"]
    partners = matching_partners(sizes, corpora, hard_fraction=1.0, mode="corpus",
                                 generator=generator)
    assert all(corpora[int(p)] == corpora[i] and int(p) != i for i, p in enumerate(partners))
    random = matching_partners(sizes, corpora, hard_fraction=0.0, mode="size",
                               generator=generator)
    assert all(int(p) != i for i, p in enumerate(random))
    assert matching_partners(sizes[:1], ["a"], hard_fraction=0.5, mode="size",
                             generator=generator) is None


def test_pretraining_model_losses_and_gradients_reach_every_part():
    records = [{"key": f"k{i}", "corpus": "c", "tokens": list(range(5, 25 + i)),
                "node_type": [0, 1, 2, 0], "node_text": [2, 3, 4, 5],
                "edge_src": [0, 1, 2, 0], "edge_dst": [1, 2, 3, 3], "edge_flow": [0, 1, 2, 1],
                "edge_position": [0, 1, 0, 2]} for i in range(4)]
    batch = collate_records(records, context_length=32, tokenizer_ids=IDS)
    task = TaskConfig(gae_edge_mask_rate=0.3, node_text_mask_rate=0.3)
    model = PretrainingModel(ModelConfig(d_model=32, heads=2, ffn=64, gnn_hidden=32,
                                         fusion_dim=32, context_length=32), task, IDS)
    step = prepare_task_inputs(batch, task, IDS, node_mask_id=model.node_mask_id,
                               generator=torch.Generator().manual_seed(0))
    assert step.inputs.graph.edge_index.size(1) + step.pos_src.numel() == 16
    metrics = model(step)
    for name in ("mlm_loss", "gae_link_loss", "gae_flow_loss", "match_loss", "loss"):
        assert torch.isfinite(metrics[name]), name
    metrics["loss"].backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None]
    assert not no_grad, no_grad
