"""Program-level objectives: contrastive alignment, matching on fused vectors with mined hard
negatives, variant contrast; and that their gradients reach the fusion layer."""

from __future__ import annotations

import dataclasses
import math

import lightning as L
import pytest
import torch

from mirencoder.infra.errors import ConfigError
from mirencoder.training.core.data.collate import collate_records
from mirencoder.training.core.data.token_ids import TokenizerIds
from mirencoder.training.core.model_config import ModelConfig
from mirencoder.training.pretraining.config import PretrainConfig, TaskConfig
from mirencoder.training.pretraining.lit_module import PretrainingModule
from mirencoder.training.pretraining.pretraining_model import PretrainingModel
from mirencoder.training.pretraining.tasks.anchor import (
    anchor_metrics,
    anchor_targets,
    anchor_text_ids,
)
from mirencoder.training.pretraining.tasks.contrastive import (
    TEMPERATURE_MAX,
    TEMPERATURE_MIN,
    ContrastiveProjection,
    info_nce_metrics,
)
from mirencoder.training.pretraining.tasks.matching import sample_negatives
from mirencoder.training.pretraining.tasks.spread import spread_metrics
from mirencoder.training.pretraining.tasks.task_inputs import prepare_task_inputs
from mirencoder.training.pretraining.tasks.variant import group_ids, variant_metrics

IDS = TokenizerIds(pad_id=0, unk_id=1, cls_id=2, sep_id=3, mask_id=4, vocab_size=50,
                   node_vocab_size=12)
MODEL = ModelConfig(d_model=32, heads=2, ffn=64, gnn_hidden=32, fusion_dim=32, context_length=32)
ONLY = {"mlm_weight": 0.0, "gae_weight": 0.0, "match_weight": 0.0, "contrastive_weight": 0.0,
        "variant_weight": 0.0}


def _records(n: int, groups: list[str] | None = None) -> list[dict]:
    records = []
    for i in range(n):
        nodes = 3 + i % 4
        record = {"key": f"k{i}", "corpus": "c", "tokens": [5 + (i * 7 + j) % 40 for j in
                                                              range(8 + 3 * i)],
                  "node_type": [0] * nodes, "node_text": [2 + (i + j) % 9 for j in range(nodes)],
                  "edge_src": list(range(nodes - 1)), "edge_dst": list(range(1, nodes)),
                  "edge_flow": [i % 3] * (nodes - 1), "edge_position": [0] * (nodes - 1)}
        if groups is not None:
            record["group"] = groups[i]
        records.append(record)
    return records


def _step(model: PretrainingModel, task: TaskConfig, records: list[dict], seed: int = 0):
    batch = collate_records(records, context_length=32, tokenizer_ids=IDS)
    return prepare_task_inputs(batch, task, IDS, node_mask_id=model.node_mask_id,
                               generator=torch.Generator().manual_seed(seed))


def _fuse_grad(model: PretrainingModel) -> float:
    return sum(float(p.grad.abs().sum()) for p in model.encoder.fusion.fuse.parameters()
               if p.grad is not None)


# --- contrastive alignment ----------------------------------------------------------------

def test_info_nce_shapes_perfect_alignment_and_chance():
    z = torch.eye(6)  # token i == graph i, orthogonal to every other program
    perfect = info_nce_metrics(z @ z.t() / TEMPERATURE_MIN)
    assert perfect["loss"].shape == () and float(perfect["loss"]) < 1e-6
    assert float(perfect["accuracy"]) == 1.0
    flat = info_nce_metrics(torch.zeros(6, 6))  # no information: log B
    assert float(flat["loss"]) == pytest.approx(math.log(6), rel=1e-6)
    swapped = info_nce_metrics(torch.eye(6).flip(0) * 50)
    assert float(swapped["accuracy"]) == 0.0 and float(swapped["loss"]) > 10


def test_contrastive_projection_temperature_is_learned_and_clamped():
    torch.manual_seed(0)
    head = ContrastiveProjection(8, 4, temperature_init=0.07)
    assert float(head.temperature.detach()) == pytest.approx(0.07)
    tokens, graph = torch.randn(5, 8), torch.randn(5, 8)
    logits = head(tokens, graph)
    assert logits.shape == (5, 5) and logits.dtype == torch.float32
    assert float(logits.detach().abs().max()) <= 1 / 0.07 + 1e-4  # cosines over the temperature
    info_nce_metrics(logits)["loss"].backward()
    assert float(head.log_temperature.grad.abs()) > 0  # learnable inside the bounds
    for log_value, bound in ((math.log(1e-5), TEMPERATURE_MIN), (math.log(10.0), TEMPERATURE_MAX)):
        with torch.no_grad():
            head.log_temperature.fill_(log_value)
        head.zero_grad()
        assert float(head.temperature.detach()) == pytest.approx(bound)
        info_nce_metrics(head(tokens, graph))["loss"].backward()
        assert float(head.log_temperature.grad) == 0.0  # clamped: no push beyond the bound
    with pytest.raises(ValueError, match="temperature_init"):
        ContrastiveProjection(8, 4, temperature_init=0.001)


# --- hard negatives -------------------------------------------------------------------------

def test_hard_negative_sampler_never_picks_self_and_follows_the_scores():
    generator = torch.Generator().manual_seed(3)
    for size in (2, 3, 8):
        logits = torch.randn(size, size, generator=generator) * 20
        logits.diagonal().fill_(1e4)  # self is by far the most similar: must still be skipped
        for hard_value in (True, False):
            hard = torch.full((size,), hard_value)
            for draws in (torch.zeros(size), torch.full((size,), 1 - 2 ** -24),
                          torch.rand(size, generator=generator)):
                picked = sample_negatives(logits, draws, hard)
                assert picked.shape == (size,) and picked.dtype == torch.long
                assert not bool((picked == torch.arange(size)).any())
    # Hard draws follow softmax(logits): a dominant column is nearly always picked.
    logits = torch.zeros(4, 4)
    logits[:, 2] = 20.0
    draws = torch.rand(500, generator=generator)
    picks = [int(sample_negatives(logits, d.expand(4), torch.ones(4, dtype=torch.bool))[0])
             for d in draws]
    assert picks.count(2) > 490
    uniform = [int(sample_negatives(logits, d.expand(4), torch.zeros(4, dtype=torch.bool))[0])
               for d in draws]
    assert 0 not in uniform and all(120 < uniform.count(j) < 215 for j in (1, 2, 3))


def test_copies_of_a_program_are_never_negatives():
    from mirencoder.training.pretraining.tasks.matching import matching_partners

    # Rows 0 and 2 hold the same program: excluded from each other's softmax and negatives.
    copies = torch.zeros(4, 4, dtype=torch.bool)
    copies[0, 2] = copies[2, 0] = True
    z = torch.eye(4)
    z[2] = z[0]
    plain = info_nce_metrics(z @ z.t() / TEMPERATURE_MIN)
    masked = info_nce_metrics(z @ z.t() / TEMPERATURE_MIN, copies)
    assert float(plain["loss"]) > 0.3 and float(masked["loss"]) < 1e-6
    assert float(masked["accuracy"]) == 1.0
    generator = torch.Generator().manual_seed(0)
    for _ in range(50):
        draws = torch.rand(4, generator=generator)
        picked = sample_negatives(torch.randn(4, 4, generator=generator), draws,
                                  torch.rand(4, generator=generator) < 0.5, copies)
        assert picked[0] not in (0, 2) and picked[2] not in (0, 2)
    # Only copies left: the sampler falls back to any other row (never itself).
    only = ~torch.eye(2, dtype=torch.bool)
    assert sample_negatives(torch.zeros(2, 2), torch.rand(2), torch.ones(2, dtype=torch.bool),
                            only).tolist() == [1, 0]
    keys = ["a", "b", "a", "a", "c"]
    for seed in range(20):
        partners = matching_partners(torch.tensor([5, 6, 5, 5, 7]), ["x"] * 5, hard_fraction=1.0,
                                     mode="size", generator=torch.Generator().manual_seed(seed),
                                     keys=keys)
        assert all(keys[int(p)] != keys[i] for i, p in enumerate(partners))


# --- variant contrast ------------------------------------------------------------------------

def test_group_ids_and_variant_loss_perfect_and_absent():
    assert group_ids(["a", "b", "c"]) is None  # nothing repeats: no positives
    groups = group_ids(["a", "b", "a", "c", "b"])
    assert groups.tolist() == [0, 1, 0, 2, 1]
    basis = torch.eye(3)
    z = basis[groups]  # variants identical, groups orthogonal
    perfect = variant_metrics(z, groups, temperature=0.01)
    assert float(perfect["loss"]) < 1e-6 and float(perfect["accuracy"]) == 1.0
    # Program 3 (group c) has no partner: it is not an anchor, so the loss stays ~0.
    shuffled = variant_metrics(basis[torch.tensor([0, 1, 1, 2, 0])], groups, temperature=0.01)
    assert float(shuffled["accuracy"]) == 0.0 and float(shuffled["loss"]) > 10
    assert variant_metrics(z, torch.arange(5), temperature=0.1) is None
    # Copies of one program (the same key twice) are no positives: only true variants count.
    copies = torch.zeros(5, 5, dtype=torch.bool)
    copies[0, 2] = copies[2, 0] = True
    assert variant_metrics(z, groups, temperature=0.01, exclude=copies)["accuracy"] == 1.0
    only_copies = torch.tensor([0, 1, 0, 2, 3])
    assert variant_metrics(z, only_copies, 0.1, exclude=copies) is None


# --- the model: losses, metrics, gradients reaching the fusion layer --------------------------

@pytest.mark.parametrize("mode", ["contrastive", "size_or_corpus"])
def test_matching_trains_the_fusion_layer(mode):
    torch.manual_seed(0)
    task = TaskConfig(**{**ONLY, "match_weight": 1.0, "hard_negative_mode": mode,
                         "hard_negative_fraction": 1.0,
                         "contrastive_weight": 1.0 if mode == "contrastive" else 0.0})
    model = PretrainingModel(MODEL, task, IDS)
    step = _step(model, task, _records(6))
    assert (step.partners is None) == (mode == "contrastive")
    assert (step.match_draws is not None) == (mode == "contrastive")
    metrics = model(step)
    assert 0.0 <= float(metrics["match_accuracy"]) <= 1.0
    metrics["loss"].backward()
    assert _fuse_grad(model) > 0  # a real loss reaches fusion.fuse (no `* 0.0` stand-in)
    if mode == "contrastive":
        assert {"contrastive_loss", "contrastive_accuracy", "contrastive_temperature"} <= set(
            metrics)
        assert float(model.contrastive.log_temperature.grad.abs()) > 0


def test_contrastive_alone_reaches_tokens_and_graph_but_not_the_fusion_layer():
    torch.manual_seed(0)
    task = TaskConfig(**{**ONLY, "contrastive_weight": 1.0})
    model = PretrainingModel(MODEL, task, IDS)
    metrics = model(_step(model, task, _records(6)))
    assert float(metrics["contrastive_loss"]) > 0 and "match_loss" not in metrics
    metrics["loss"].backward()
    fusion = model.encoder.fusion
    assert float(fusion.token_proj[0].weight.grad.abs().sum()) > 0
    assert float(fusion.graph_proj[0].weight.grad.abs().sum()) > 0
    # fuse is kept in the graph for DDP (zero gradient), not trained.
    assert all(p.grad is not None for p in fusion.fuse.parameters()) and _fuse_grad(model) == 0


@pytest.mark.parametrize("views", ["fused", "fused,tokens,graph"])
def test_variant_contrast_reaches_the_fusion_layer_when_groups_repeat(views):
    torch.manual_seed(0)
    task = TaskConfig(**{**ONLY, "variant_weight": 1.0, "variant_views": views})
    model = PretrainingModel(MODEL, task, IDS)
    step = _step(model, task, _records(6, groups=["a", "a", "b", "c", "c", "c"]))
    assert step.group_ids.tolist() == [0, 0, 1, 2, 2, 2]
    metrics = model(step)
    assert float(metrics["variant_loss"]) > 0 and 0 <= float(metrics["variant_accuracy"]) <= 1
    metrics["loss"].backward()
    assert _fuse_grad(model) > 0
    assert sorted(model.variant_heads) == sorted(views.split(","))
    # Without groups (older datasets: each program its own key) the loss is off, not NaN.
    model.zero_grad()
    alone = model(_step(model, task, _records(6)))
    assert "variant_loss" not in alone and float(alone["loss"].detach()) == 0.0
    alone["loss"].backward()
    assert all(p.grad is not None for p in model.parameters())  # DDP: every head joins


@pytest.mark.parametrize("fusion", ["mlp", "residual"])
def test_variant_stop_gradient_shields_the_graph_encoder(fusion):
    """``variant_stop_gradient: graph``: the variant contrast on the fused vector trains the
    token side and the fusion MLP, never the GNN or its pooling; the loss value is unchanged."""
    task = TaskConfig(**{**ONLY, "variant_weight": 1.0, "variant_projection": "none",
                         "variant_stop_gradient": "graph"})
    model_config = dataclasses.replace(MODEL, fusion=fusion, dropout=0.0)
    records = _records(6, groups=["a", "a", "b", "b", "c", "c"])
    torch.manual_seed(0)
    shielded = PretrainingModel(model_config, task, IDS)
    torch.manual_seed(0)
    plain = PretrainingModel(model_config, dataclasses.replace(task, variant_stop_gradient=""),
                             IDS)
    losses = []
    for model in (shielded, plain):
        metrics = model(_step(model, task, records))
        metrics["loss"].backward()
        losses.append(float(metrics["variant_loss"]))
    assert losses[0] == pytest.approx(losses[1], abs=1e-6)

    def grad(model: PretrainingModel, module: torch.nn.Module) -> float:
        return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)

    for model, graph_trained in ((shielded, False), (plain, True)):
        encoder = model.encoder
        assert (grad(model, encoder.graph_encoder) > 0) is graph_trained
        assert (grad(model, encoder.fusion.graph_proj) > 0) is graph_trained
        assert grad(model, encoder.token_encoder) > 0 and grad(model, encoder.fusion.token_proj) > 0
        assert _fuse_grad(model) > 0
    with pytest.raises(ConfigError, match="variant_stop_gradient"):
        TaskConfig(variant_stop_gradient="nodes")
    with pytest.raises(ConfigError, match="variant_stop_gradient"):
        TaskConfig(variant_views="fused,graph", variant_stop_gradient="graph")


def test_all_tasks_together_give_finite_losses_and_every_parameter_a_gradient():
    torch.manual_seed(0)
    task = TaskConfig(gae_edge_mask_rate=0.3, node_text_mask_rate=0.3)
    model = PretrainingModel(MODEL, task, IDS)
    metrics = model(_step(model, task, _records(8, groups=list("aabbccdd"))))
    for name in ("mlm_loss", "gae_loss", "match_loss", "contrastive_loss", "variant_loss",
                 "loss"):
        assert torch.isfinite(metrics[name]), name
    metrics["loss"].backward()
    assert not [n for n, p in model.named_parameters() if p.grad is None]
    assert _fuse_grad(model) > 0


def test_task_config_checks_the_new_fields():
    assert TaskConfig().hard_negative_mode == "contrastive"
    with pytest.raises(ConfigError, match="contrastive_weight > 0"):
        TaskConfig(contrastive_weight=0.0)
    TaskConfig(contrastive_weight=0.0, hard_negative_mode="size")  # fine without contrast
    with pytest.raises(ConfigError, match="variant_views"):
        TaskConfig(variant_views="fused,nodes")
    with pytest.raises(ConfigError, match="temperature_init"):
        TaskConfig(temperature_init=0.9)


def test_variant_contrast_on_the_embedding_itself_and_over_whole_programs():
    """``variant_projection: none`` scores the normalised embedding (no head parameters);
    with ``windows="all"`` batches the losses and gradients stay finite and reach the fusion."""
    torch.manual_seed(0)
    task = TaskConfig(**{**ONLY, "variant_weight": 1.0, "variant_projection": "none",
                         "mlm_weight": 1.0, "contrastive_weight": 1.0})
    model = PretrainingModel(dataclasses.replace(MODEL, dropout=0.0), task, IDS)
    assert not list(model.variant_heads["fused"].parameters())
    records = _records(6, groups=["a", "a", "b", "b", "c", "c"])
    batch = collate_records(records, context_length=8, tokenizer_ids=IDS, windows="all",
                            max_windows=3)
    assert batch.tokens.size(0) > len(records) and batch.num_programs == len(records)
    step = prepare_task_inputs(batch, task, IDS, node_mask_id=model.node_mask_id,
                               generator=torch.Generator().manual_seed(0))
    out = model.encoder(step.inputs)
    metrics = model(step)
    z = torch.nn.functional.normalize(out["fused"].float(), dim=-1)
    expected = variant_metrics(z, step.group_ids, task.variant_temperature, step.copies())
    assert torch.allclose(metrics["variant_loss"], expected["loss"].detach(), atol=1e-5)
    metrics["loss"].backward()
    assert torch.isfinite(metrics["loss"]) and _fuse_grad(model) > 0
    with pytest.raises(ConfigError, match="variant_projection"):
        TaskConfig(variant_projection="linear")


def test_contrastive_variants_ignore_leaves_a_programs_variants_out_of_the_alignment():
    """``contrastive_variants: ignore``: the variants of a program are neither negatives of
    the InfoNCE softmax nor drawn as matching negatives; ``negative`` keeps them (copies are
    left out either way)."""
    torch.manual_seed(0)
    records = _records(6, groups=["a", "a", "b", "b", "c", "c"])
    weights = {**ONLY, "contrastive_weight": 1.0, "match_weight": 1.0,
               "hard_negative_fraction": 1.0}
    ignore = TaskConfig(**weights, contrastive_variants="ignore")
    model = PretrainingModel(dataclasses.replace(MODEL, dropout=0.0), ignore, IDS)
    step = _step(model, ignore, records)
    relatives = step.relatives()
    assert step.group_ids.tolist() == [0, 0, 1, 1, 2, 2]  # grouped without the variant loss
    assert relatives.sum() == 6 and not relatives.diagonal().any() and bool(relatives[0, 1])
    out = model.encoder(step.inputs)
    logits = model.contrastive(out["tokens"], out["graph"])
    metrics = model(step)
    expected = info_nce_metrics(logits, relatives)
    assert torch.allclose(metrics["contrastive_loss"], expected["loss"].detach(), atol=1e-5)
    assert not torch.allclose(expected["loss"], info_nce_metrics(logits)["loss"])
    for seed in range(5):  # the mined negatives never pair a program with its variant
        drawn = model._matching_negatives(_step(model, ignore, records, seed), logits, relatives)
        token_rows, graph_rows = drawn
        assert not relatives[token_rows, graph_rows].any()
        assert not (token_rows == graph_rows).any()
    negative = TaskConfig(**weights)
    plain = _step(PretrainingModel(MODEL, negative, IDS), negative, records)
    assert plain.group_ids is None and plain.relatives() is None  # six distinct keys
    with pytest.raises(ConfigError, match="contrastive_variants"):
        TaskConfig(contrastive_variants="skip")


# --- optimisation-outcome prediction ------------------------------------------------------

def test_node_text_distributions_and_level_ids():
    from mirencoder.training.pretraining.tasks.outcome import (
        OPT_LEVELS,
        level_ids,
        node_text_distributions,
    )

    node_text = torch.tensor([1, 1, 2, 0, 3, 3, 3])
    node_batch = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    dist = node_text_distributions(node_text, node_batch, 3, vocab_size=4)
    expected = torch.tensor([[0, 2 / 3, 1 / 3, 0], [0.25, 0, 0, 0.75], [0, 0, 0, 0]])
    assert torch.allclose(dist, expected)  # program 2 has no nodes: a zero row
    assert level_ids(["O0", "Oz", "", "O9"]).tolist() == [OPT_LEVELS.index("O0"),
                                                           OPT_LEVELS.index("Oz"), 0, 0]


def test_outcome_prediction_pairs_variants_and_reaches_the_fusion_layer():
    """Each program predicts the node-text distribution of every variant of its group at that
    variant's level (itself included); a perfect predictor has zero loss."""
    from mirencoder.training.pretraining.tasks.outcome import outcome_metrics

    torch.manual_seed(0)
    task = TaskConfig(**{**ONLY, "outcome_weight": 1.0})
    model = PretrainingModel(MODEL, task, IDS)
    records = _records(6, groups=["a", "a", "b", "b", "c", "d"])
    for record, level in zip(records, ["O0", "O3", "O0", "O2", "O1", "Oz"], strict=True):
        record["opt_level"] = level
    step = _step(model, task, records)
    assert step.level_ids.tolist() == [1, 4, 1, 3, 2, 6]
    assert torch.allclose(step.outcome_targets.sum(1), torch.ones(6))
    # targets come from the uncorrupted graph, the same with node-text masking on
    masked_task = TaskConfig(**{**ONLY, "outcome_weight": 1.0, "gae_weight": 1.0,
                                "node_text_mask_rate": 0.5})
    masked = _step(model, masked_task, records)
    assert torch.equal(masked.outcome_targets, step.outcome_targets)
    metrics = model(step)
    assert float(metrics["outcome_loss"]) > 0 and float(metrics["outcome_cross_loss"]) > 0
    metrics["loss"].backward()
    assert _fuse_grad(model) > 0

    # the same loss by hand: every (anchor, variant) pair of a group, the anchor included
    head, groups = model.outcome_head, step.group_ids
    vectors = torch.randn(6, MODEL.fusion_dim)
    by_hand, cross = [], []
    for i in range(6):
        for j in range(6):
            if groups[i] == groups[j]:
                p = step.outcome_targets[j]
                log_q = torch.log_softmax(head(vectors[i:i + 1], step.level_ids[j:j + 1])[0], -1)
                kl = float((p * (p.clamp(min=1e-12).log() - log_q)).sum())
                by_hand.append(kl)
                if step.level_ids[i] != step.level_ids[j]:
                    cross.append(kl)
    result = outcome_metrics(head, vectors, step.level_ids, groups, step.outcome_targets)
    assert len(by_hand) == 10 and len(cross) == 4
    assert float(result["loss"]) == pytest.approx(sum(by_hand) / 10, rel=1e-5)
    assert float(result["cross_loss"]) == pytest.approx(sum(cross) / 4, rel=1e-5)
    alone = outcome_metrics(head, vectors, step.level_ids, None, step.outcome_targets)
    assert "cross_loss" not in alone  # no groups: each program predicts only itself
    assert outcome_metrics(head, vectors, step.level_ids, groups,
                           torch.zeros_like(step.outcome_targets)) is None
    with pytest.raises(ConfigError, match="outcome_weight"):
        TaskConfig(outcome_weight=-1.0)


def _leveled(records: list[dict], levels: list[str]) -> list[dict]:
    for record, level in zip(records, levels, strict=True):
        record["opt_level"] = level
    return records


def test_metric_names_are_what_a_full_batch_returns():
    torch.manual_seed(0)
    task = TaskConfig(gae_edge_mask_rate=0.3, node_text_mask_rate=0.3, outcome_weight=1.0)
    model = PretrainingModel(MODEL, task, IDS)
    full = _leveled(_records(6, groups=list("aabbcc")), ["O0", "O3"] * 3)
    assert set(model(_step(model, task, full))) == set(model.metric_names())
    lone = model(_step(model, task, _leveled(_records(1), ["O0"])))
    assert set(lone) < set(model.metric_names())
    assert "variant_loss" not in lone and "contrastive_loss" not in lone
    bare = PretrainingModel(MODEL, TaskConfig(mlm_weight=1.0, gae_weight=0.0, match_weight=0.0,
                                              contrastive_weight=0.0, variant_weight=0.0),
                            IDS)
    assert bare.metric_names() == ("loss", "mlm_loss", "mlm_accuracy", "mlm_unigram_accuracy")


def test_validation_means_cover_only_the_batches_that_had_a_metric(tmp_path):
    """A batch of one program has no variant or contrastive metrics: they are logged with
    weight 0 (so DDP ranks reduce the same names), and the epoch mean is the full batch's."""
    torch.manual_seed(0)
    config = PretrainConfig(model=dataclasses.replace(MODEL, dropout=0.0),
                            task=TaskConfig(outcome_weight=1.0))
    module = PretrainingModule(dataclasses.asdict(config), dataclasses.asdict(IDS))
    full = collate_records(_leveled(_records(6, groups=list("aabbcc")), ["O0", "O3"] * 3),
                           context_length=32, tokenizer_ids=IDS)
    lone = collate_records(_leveled(_records(1), ["O0"]), context_length=32, tokenizer_ids=IDS)
    trainer = L.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=tmp_path)
    batches = torch.utils.data.DataLoader([full, lone], batch_size=None, collate_fn=lambda b: b)
    logged = trainer.validate(module, batches, verbose=False)[0]
    assert set(logged) == {f"val/{name}" for name in module.model.metric_names()}
    module.eval()
    module._val_batch = 0
    with torch.no_grad():  # the full batch alone, with the masks validation drew for it
        alone = module.model(module.on_before_batch_transfer(full, 0))
    for name in ("variant_loss", "contrastive_loss", "match_loss", "outcome_cross_loss"):
        assert logged[f"val/{name}"] == pytest.approx(float(alone[name]), rel=1e-5), name
    assert all(torch.isfinite(torch.tensor(value)) for value in logged.values())


# --- vectorisation-outcome prediction -------------------------------------------------------


def test_vector_lanes_and_lane_classes():
    from mirencoder.training.pretraining.tasks.vectorisation import lane_classes, vector_lanes

    assert vector_lanes(["[PAD]", "load", "<4 x i32>", "<2 x <2 x ptr>>", "<16 x i8>",
                         "<1 x i64>", "[8 x i32]"]) == [0, 0, 4, 2, 16, 1, 0]
    lanes = torch.tensor([0, 0, 4, 2, 16, 1, 8, 32])
    targets = torch.zeros(6, 8)
    targets[0, 1] = 1.0                   # scalar code
    targets[1, [1, 2, 3]] = 1 / 3          # widest 4 lanes
    targets[2, [4, 5]] = 0.5               # 16 lanes
    targets[3, 5] = 1.0                    # a 1-lane vector counts as none
    targets[4, 6] = 1.0                    # 8
    targets[5, [3, 7]] = 0.5               # 32 lanes: the 16+ class
    assert lane_classes(targets, lanes).tolist() == [0, 2, 4, 0, 3, 4]


def test_vectorisation_prediction_pairs_variants_and_reaches_the_fusion_layer():
    torch.manual_seed(0)
    task = TaskConfig(**{**ONLY, "vectorisation_weight": 1.0})
    lanes = [0] * IDS.node_vocab_size
    lanes[7] = 4  # node text 7 is a <4 x ...> type
    with pytest.raises(ConfigError, match="node texts"):
        PretrainingModel(MODEL, task, IDS)
    model = PretrainingModel(MODEL, task, IDS, node_vector_lanes=lanes)
    records = _leveled(_records(6, groups=["a", "a", "b", "b", "c", "c"]),
                       ["O0", "O2", "O0", "O2", "O0", "Oz"])
    step = _step(model, task, records)
    metrics = model(step)
    assert set(metrics) >= {"vectorisation_loss", "vectorisation_accuracy"}
    assert float(metrics["vectorisation_loss"]) > 0
    metrics["loss"].backward()
    assert _fuse_grad(model) > 0
    assert float(model.vectorisation_head.linear.weight.grad.abs().sum()) > 0
    assert "vectorisation_loss" in model.metric_names()


# --- embedding spread ---------------------------------------------------------------------

def test_spread_terms_punish_collapse_and_spare_spread_vectors():
    torch.manual_seed(0)
    collapsed = torch.randn(64, 1) * torch.ones(1, 16)  # one direction, repeated in 16 dims
    spread = torch.randn(4096, 16)  # isotropic, unit variance
    low, high = spread_metrics(spread), spread_metrics(collapsed)
    assert float(low["variance"]) < 0.02 and float(low["covariance"]) < 0.01
    assert float(high["covariance"]) > 5 and float(high["loss"]) > float(low["loss"]) + 0.2
    constant = spread_metrics(torch.ones(8, 16))
    assert float(constant["variance"]) == pytest.approx(1 - 1e-2, abs=1e-3)  # sqrt(eps)
    assert float(constant["std"]) == pytest.approx(1e-2, abs=1e-4)
    assert spread_metrics(torch.randn(1, 16)) is None


def test_spread_reaches_every_chosen_view_and_the_fusion_layer():
    task = TaskConfig(**{**ONLY, "spread_weight": 1.0})
    torch.manual_seed(0)
    model = PretrainingModel(MODEL, task, IDS)
    metrics = model(_step(model, task, _records(6)))
    assert set(metrics) >= {"spread_loss", "spread_std"}
    assert set(model.metric_names()) >= {"spread_loss", "spread_std"}
    assert float(metrics["spread_loss"]) > 0
    metrics["loss"].backward()
    encoder = model.encoder
    assert _fuse_grad(model) > 0
    for module in (encoder.graph_encoder, encoder.token_encoder):
        assert sum(float(p.grad.abs().sum()) for p in module.parameters()
                   if p.grad is not None) > 0
    graph_only = TaskConfig(**{**ONLY, "spread_weight": 1.0, "spread_views": "graph"})
    torch.manual_seed(0)
    model = PretrainingModel(MODEL, graph_only, IDS)
    model(_step(model, graph_only, _records(6)))["loss"].backward()
    assert sum(float(p.grad.abs().sum()) for p in model.encoder.token_encoder.parameters()
               if p.grad is not None) == 0
    with pytest.raises(ConfigError, match="spread_views"):
        TaskConfig(spread_views="nodes")
    with pytest.raises(ConfigError, match="spread_target_std"):
        TaskConfig(spread_target_std=0.0)


# --- property anchoring -------------------------------------------------------------------

def test_anchor_targets_hold_log_size_then_the_most_frequent_texts_per_group():
    distributions = torch.tensor([[0.0, 0.0, 0.5, 0.25, 0.25],
                                  [0.0, 0.0, 1.0, 0.0, 0.0],
                                  [0.0, 0.0, 0.0, 0.5, 0.5]])
    counts = torch.tensor([4, 1, 8])
    own = anchor_targets(distributions, counts, 3)
    assert own.shape == (3, 3)
    assert torch.allclose(own[:, 0], torch.log1p(counts.float()))
    assert torch.allclose(own[:, 1:], distributions[:, 2:4])
    grouped = anchor_targets(distributions, counts, 3, torch.tensor([0, 0, 1]))
    assert torch.allclose(grouped[0], (own[0] + own[1]) / 2)
    assert torch.allclose(grouped[1], grouped[0]) and torch.allclose(grouped[2], own[2])
    wide = anchor_targets(distributions, counts, 6)  # more anchors than texts: zero columns
    assert wide.shape == (3, 6) and float(wide[:, 4:].abs().sum()) == 0


def test_log_count_anchors_follow_the_opcode_histograms_scale():
    distributions = torch.tensor([[0.0, 0.0, 0.5, 0.25, 0.25],
                                  [0.0, 0.0, 0.0, 0.5, 0.5]])
    counts = torch.tensor([4, 8])
    logged = anchor_targets(distributions, counts, 4, scale="log_count")
    node_counts = torch.tensor([[2.0, 1.0, 1.0], [0.0, 4.0, 4.0]])  # fraction x size
    assert torch.allclose(logged[:, 0], torch.log1p(counts.float()))
    assert torch.allclose(logged[:, 1:], torch.log1p(node_counts))
    # a text with the same share of a bigger graph is a bigger column, unlike a fraction
    assert float(logged[1, 2]) > float(logged[0, 2])
    with pytest.raises(ValueError, match="scale"):
        anchor_targets(distributions, counts, 4, scale="rank")


def test_opcode_anchors_follow_only_the_node_texts_that_are_opcodes():
    """task.anchor_texts: opcodes skips type texts (i32, ptr) and keeps the vocabulary's
    frequency order, so its columns are the opcode histogram's."""
    texts = ["[PAD]", "[UNK]", "ptr", "load", "i32", "getelementptr", "<4 x i32>", "fadd"]
    assert anchor_text_ids(texts, 4, "opcodes") == [3, 5, 7]
    assert anchor_text_ids(texts, 3, "opcodes") == [3, 5]
    assert anchor_text_ids(texts, 3) == [2, 3]  # frequent: the contiguous ids of before
    with pytest.raises(ValueError, match="texts"):
        anchor_text_ids(texts, 3, "types")
    distributions = torch.tensor([[0.0, 0.0, 0.1, 0.2, 0.3, 0.1, 0.1, 0.2],
                                  [0.0, 0.0, 0.5, 0.0, 0.25, 0.25, 0.0, 0.0]])
    counts = torch.tensor([10, 4])
    ids = anchor_text_ids(texts, 5, "opcodes")
    picked = anchor_targets(distributions, counts, 5, scale="log_count", text_ids=ids)
    assert picked.shape == (2, 5)
    assert torch.allclose(picked[:, 1:4], torch.log1p(distributions[:, [3, 5, 7]]
                                                      * counts[:, None].float()))
    assert float(picked[:, 4].abs().sum()) == 0  # more anchors than opcodes: no target
    assert torch.equal(anchor_targets(distributions, counts, 3, text_ids=[2, 3]),
                       anchor_targets(distributions, counts, 3))
    with pytest.raises(ConfigError, match="anchor_texts"):
        TaskConfig(anchor_texts="types")


def test_the_module_reads_the_opcode_anchors_from_the_datasets_vocabulary(tmp_path):
    from mirencoder.pipelines.ir.node_vocab import NodeTextVocabulary

    NodeTextVocabulary(["ptr", "load", "i32", "getelementptr"]).save(tmp_path / "node_vocab.json")
    task = TaskConfig(**{**ONLY, "anchor_weight": 1.0, "anchor_columns": 4,
                         "anchor_targets": "own", "anchor_texts": "opcodes"})
    config = PretrainConfig(model=MODEL, task=task)
    config = dataclasses.replace(config, data=dataclasses.replace(config.data,
                                                                  dataset_dir=str(tmp_path)))
    module = PretrainingModule(dataclasses.asdict(config), dataclasses.asdict(IDS))
    assert module._anchor_text_ids() == [3, 5]  # load, getelementptr: no type texts
    frequent = dataclasses.replace(config, task=dataclasses.replace(task, anchor_texts="frequent"))
    assert PretrainingModule(dataclasses.asdict(frequent),
                             dataclasses.asdict(IDS))._anchor_text_ids() is None


def test_anchor_loss_is_zero_for_coordinates_that_follow_their_properties():
    torch.manual_seed(0)
    targets = torch.randn(16, 4)
    followed = torch.cat([3 * targets + 1, torch.randn(16, 12)], dim=1)  # scale-free
    assert float(anchor_metrics(followed, targets)["loss"]) == pytest.approx(0, abs=1e-5)
    opposed = anchor_metrics(torch.cat([-targets, torch.randn(16, 12)], dim=1), targets)
    assert float(opposed["loss"]) == pytest.approx(2, abs=1e-5)
    assert float(opposed["correlation"]) == pytest.approx(-1, abs=1e-5)
    constant = targets.clone()
    constant[:, 1] = 5.0  # a property every program of the batch shares: left out
    partly = anchor_metrics(torch.cat([constant, torch.randn(16, 12)], dim=1), constant)
    assert float(partly["loss"]) == pytest.approx(0, abs=1e-5)
    assert anchor_metrics(torch.randn(16, 8), torch.ones(16, 4)) is None
    assert anchor_metrics(torch.randn(2, 8), targets[:2]) is None


def test_mse_anchors_ask_each_coordinate_for_its_value_and_constant_columns_stay_constant():
    """task.anchor_loss: mse is zero only when a coordinate equals its property, and scores a
    column whose property is constant in the batch (which the correlation leaves free)."""
    torch.manual_seed(0)
    targets = torch.randn(16, 4)
    targets[:, 3] = 0.0  # e.g. an opcode no program of the batch has in a loop
    exact = torch.cat([targets, torch.randn(16, 4)], dim=1)
    assert float(anchor_metrics(exact, targets, loss="mse")["loss"]) == pytest.approx(0, abs=1e-7)
    scaled = torch.cat([3 * targets + 1, torch.randn(16, 4)], dim=1)
    assert float(anchor_metrics(scaled, targets)["loss"]) == pytest.approx(0, abs=1e-5)
    assert float(anchor_metrics(scaled, targets, loss="mse")["loss"]) > 1.0
    noisy = exact.clone()
    noisy[:, 3] = torch.randn(16)  # free under the correlation, not under mse
    assert float(anchor_metrics(noisy, targets)["loss"]) == pytest.approx(0, abs=1e-5)
    assert float(anchor_metrics(noisy, targets, loss="mse")["loss"]) > 0.1
    with pytest.raises(ValueError, match="loss"):
        anchor_metrics(exact, targets, loss="huber")
    with pytest.raises(ConfigError, match="anchor_loss"):
        TaskConfig(anchor_loss="huber")


def test_anchoring_trains_the_chosen_views_and_checks_its_width():
    task = TaskConfig(**{**ONLY, "anchor_weight": 1.0, "anchor_columns": 4,
                         "anchor_targets": "own"})
    torch.manual_seed(0)
    model = PretrainingModel(MODEL, task, IDS)
    step = _step(model, task, _records(6))
    assert step.anchor_targets.shape == (6, 4)
    metrics = model(step)
    assert set(metrics) >= {"anchor_loss", "anchor_correlation"}
    assert set(model.metric_names()) >= {"anchor_loss", "anchor_correlation"}
    metrics["loss"].backward()
    assert _fuse_grad(model) > 0
    with pytest.raises(ConfigError, match="anchor_columns"):
        PretrainingModel(MODEL, TaskConfig(**{**ONLY, "anchor_weight": 1.0,
                                              "anchor_columns": MODEL.fusion_dim + 1}), IDS)
    for bad, match in (({"anchor_views": "nodes"}, "anchor_views"),
                       ({"anchor_columns": 0}, "anchor_columns"),
                       ({"anchor_targets": "mean"}, "anchor_targets")):
        with pytest.raises(ConfigError, match=match):
            TaskConfig(**bad)


# --- loop membership ----------------------------------------------------------------------

def test_loop_membership_marks_instructions_on_control_cycles_only():
    from mirencoder.training.pretraining.tasks.loops import IGNORE, loop_membership

    # graph 0: 0 -> 1 -> 2 -> 1 (a loop of 1, 2), 2 -> 3 exit; data edge 3 -> 0 is no cycle;
    # node 4 a variable. Graph 1 (nodes 5, 6): 5 -> 5 a self-loop, 6 alone.
    edges = torch.tensor([[0, 1, 2, 2, 3, 5], [1, 2, 1, 3, 0, 5]])
    flows = torch.tensor([0, 0, 0, 0, 1, 0])
    types = torch.tensor([0, 0, 0, 0, 1, 0, 0])
    assert loop_membership(edges, flows, types).tolist() == [0, 1, 1, 0, IGNORE, 1, 0]
    assert loop_membership(torch.zeros(2, 0, dtype=torch.long), torch.zeros(0),
                           torch.tensor([0, 2])).tolist() == [0, IGNORE]


def test_loop_membership_trains_the_graph_encoder():
    task = TaskConfig(**{**ONLY, "loop_weight": 1.0})
    torch.manual_seed(0)
    model = PretrainingModel(MODEL, task, IDS)
    records = _records(4)
    for record in records:  # close each chain into a control-flow cycle
        record["edge_src"].append(record["edge_dst"][-1])
        record["edge_dst"].append(0)
        record["edge_flow"] = [0] * len(record["edge_src"])
        record["edge_position"].append(0)
    step = _step(model, task, records)
    assert step.loop_targets.tolist() == [1] * int(step.inputs.graph.num_nodes)
    metrics = model(step)
    assert set(metrics) == set(model.metric_names()) >= {"loop_loss", "loop_accuracy"}
    metrics["loss"].backward()
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0
               for p in model.encoder.graph_encoder.parameters())
    with pytest.raises(ConfigError, match="loop_weight"):
        TaskConfig(loop_weight=-1.0)


# --- compiler-decision prediction ---------------------------------------------------------

def test_decision_labels_from_loop_decisions():
    from mirencoder.training.pretraining.tasks.decisions import IGNORE, decision_labels

    assert decision_labels([]) == (0, IGNORE, IGNORE)  # no loop decided
    assert decision_labels([(False, 1, 1)]) == (1, 0, 0)  # scalar loop
    assert decision_labels([(True, 4, 2)]) == (2, 2, 1)
    # the widest VF and largest IC over several loops; above the last class -> the last class
    assert decision_labels([(False, 1, 1), (True, 32, 16), (True, 2, 1)]) == (2, 4, 3)


def test_decision_table_reads_the_chosen_corpora_and_says_how_to_build_it(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mirencoder.training.pretraining.tasks.decisions import (
        DECISION_LABELS_FILE,
        decision_targets,
        load_decision_table,
    )

    with pytest.raises(ConfigError, match="mirencoder dataset decision-labels"):
        load_decision_table(tmp_path)
    rows = [{"group": "g0", "corpus": "a", "status": "ok", "vectorised": 2, "vf": 2, "ic": 1},
            {"group": "g1", "corpus": "b", "status": "ok", "vectorised": 0, "vf": -100,
             "ic": -100},
            {"group": "g2", "corpus": "b", "status": "compile_error", "vectorised": -100,
             "vf": -100, "ic": -100}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / DECISION_LABELS_FILE)
    assert load_decision_table(tmp_path) == {"g0": (2, 2, 1), "g1": (0, -100, -100)}
    assert load_decision_table(tmp_path, ["b"]) == {"g1": (0, -100, -100)}
    with pytest.raises(ConfigError, match="no labelled source"):
        load_decision_table(tmp_path, ["c"])
    table = load_decision_table(tmp_path)
    assert decision_targets(["g0", "x", "g1"], table).tolist() == [
        [2, 2, 1], [-100, -100, -100], [0, -100, -100]]
    assert decision_targets(["x", "y"], table) is None


def test_decision_prediction_trains_the_fusion_layer_and_skips_unlabelled_batches():
    task = TaskConfig(**{**ONLY, "decision_weight": 1.0})
    torch.manual_seed(0)
    model = PretrainingModel(MODEL, task, IDS)
    records = _records(4, groups=["a", "a", "b", "c"])
    batch = collate_records(records, context_length=32, tokenizer_ids=IDS)
    with pytest.raises(ValueError, match="decision labels"):
        prepare_task_inputs(batch, task, IDS, node_mask_id=model.node_mask_id,
                            generator=torch.Generator().manual_seed(0))
    table = {"a": (2, 2, 1), "b": (0, -100, -100)}  # c has no label
    step = prepare_task_inputs(batch, task, IDS, node_mask_id=model.node_mask_id,
                               generator=torch.Generator().manual_seed(0), decision_table=table)
    assert step.decision_targets.tolist() == [[2, 2, 1], [2, 2, 1], [0, -100, -100],
                                              [-100, -100, -100]]
    metrics = model(step)
    assert set(metrics) == set(model.metric_names()) >= {"decision_loss", "decision_accuracy"}
    assert math.isfinite(float(metrics["decision_loss"]))
    metrics["loss"].backward()
    assert _fuse_grad(model) > 0
    unlabelled = prepare_task_inputs(batch, task, IDS, node_mask_id=model.node_mask_id,
                                     generator=torch.Generator().manual_seed(0),
                                     decision_table={"z": (1, 0, 0)})
    assert unlabelled.decision_targets is None and "decision_loss" not in model(unlabelled)
    with pytest.raises(ConfigError, match="decision_views"):
        TaskConfig(decision_views="nodes")
    with pytest.raises(ConfigError, match="decision_weight"):
        TaskConfig(decision_weight=-1.0)


def test_loop_opcode_anchors_count_the_texts_of_the_nodes_in_loops_only():
    """task.anchor_texts: loop_opcodes: column 0 stays the whole graph's log node count, the
    others the log counts of the texts among the nodes on a control-flow cycle, taken from the
    graph before graph auto-encoding hides any edge; the encoder reads the same membership."""
    records = _records(3)
    # programs 1, 2: nodes 0 -> 1 -> 2 -> 1 (a loop of nodes 1, 2) -> 3 exit; control edges
    for record, texts in ((records[1], [3, 5, 5, 7]), (records[2], [3, 7, 3, 5])):
        record.update(node_type=[0] * 4, node_text=texts, edge_src=[0, 1, 2, 2],
                      edge_dst=[1, 2, 1, 3], edge_flow=[0] * 4, edge_position=[0] * 4)
    records[0]["edge_flow"] = [0] * len(records[0]["edge_src"])  # a chain: no loop
    task = TaskConfig(**{**ONLY, "gae_weight": 1.0, "gae_edge_mask_rate": 0.5,
                         "anchor_weight": 1.0, "anchor_columns": 4, "anchor_targets": "own",
                         "anchor_texts": "loop_opcodes", "anchor_scale": "log_count"})
    model = PretrainingModel(dataclasses.replace(MODEL, graph_readout="mean_max_size_loop_counts"),
                             task, IDS)
    step = _step(model, task, records)
    graph = step.inputs.graph
    assert graph.node_in_loop.tolist() == [False] * 3 + [False, True, True, False] * 2
    assert graph.edge_index.size(1) < 2 + 4 + 4  # edges were hidden, membership was not
    targets = step.anchor_targets
    assert targets[:, 0].tolist() == pytest.approx(torch.log1p(torch.tensor([3.0, 4.0, 4.0]))
                                                   .tolist())
    text_ids = [3, 5, 7]
    module_targets = prepare_task_inputs(
        collate_records(records, context_length=32, tokenizer_ids=IDS), task, IDS,
        node_mask_id=model.node_mask_id, generator=torch.Generator().manual_seed(0),
        anchor_text_ids=text_ids).anchor_targets
    one, two = float(torch.log1p(torch.tensor(1.0))), float(torch.log1p(torch.tensor(2.0)))
    assert module_targets[1:, 1:].tolist() == [pytest.approx([0.0, two, 0.0]),
                                               pytest.approx([one, 0.0, one])]
    assert module_targets[0, 1:].abs().sum() == 0
    assert targets.shape == (3, 4)
    metrics = model(step)
    metrics["loss"].backward()
    assert model.encoder.fusion.loop_count_proj.weight.grad.abs().sum() > 0


def test_graph_autoencoding_with_node_texts_only_leaves_the_edge_decoder_untrained():
    """task.gae_edge_weight: 0 keeps masked node-text prediction and drops edge and flow-type
    reconstruction from the loss (the ablation that tells which part of GAE collapses the
    graph vector); a negative weight is refused."""
    task = TaskConfig(**{**ONLY, "gae_weight": 1.0, "gae_edge_weight": 0.0,
                         "gae_edge_mask_rate": 0.0, "node_text_mask_rate": 0.5})
    model = PretrainingModel(MODEL, task, IDS)
    metrics = model(_step(model, task, _records(4)))
    assert float(metrics["gae_link_loss"]) > 0
    assert metrics["gae_loss"] == pytest.approx(0.5 * float(metrics["node_text_loss"]))
    metrics["loss"].backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.edge_decoder.parameters())
    assert sum(p.grad.abs().sum() for p in model.node_text_head.parameters()) > 0
    with pytest.raises(ConfigError, match="gae_edge_weight"):
        TaskConfig(gae_edge_weight=-1.0)


def test_clean_views_feed_the_program_objectives_an_uncorrupted_second_pass():
    """task.clean_views (ALBEF's split): the reconstruction losses read the corrupted pass as
    before, the program-level objectives read the listed views uncorrupted; a view that is
    not listed is pooled from the corrupted pass; an unknown view is refused."""
    base = {**ONLY, "mlm_weight": 1.0, "gae_weight": 1.0, "node_text_mask_rate": 0.5,
            "gae_edge_mask_rate": 0.5, "contrastive_weight": 1.0}
    records = _records(5)
    clean = collate_records(records, context_length=32, tokenizer_ids=IDS)
    results = {}
    for views in ("", "graph", "tokens,graph"):
        task = TaskConfig(**base, clean_views=views)
        torch.manual_seed(0)
        model = PretrainingModel(MODEL, task, IDS).eval()
        step = _step(model, task, records)
        assert (step.clean_graph is not None) == ("graph" in views)
        assert (step.clean_tokens is not None) == ("tokens" in views)
        if step.clean_graph is not None:
            assert torch.equal(step.clean_graph.node_text, clean.graph.node_text)
            assert step.clean_graph.edge_index.size(1) == clean.graph.edge_index.size(1)
            assert not torch.equal(step.inputs.graph.node_text, clean.graph.node_text)
        with torch.no_grad():
            metrics = model(step)
            seen = step.inputs.replace(
                tokens=clean.tokens if "tokens" in views else step.inputs.tokens,
                graph=step.clean_graph if "graph" in views else step.inputs.graph)
            out = model.encoder(seen)
            expected = info_nce_metrics(model.contrastive(out["tokens"], out["graph"]))
        assert float(metrics["contrastive_loss"]) == pytest.approx(float(expected["loss"]),
                                                                   rel=1e-5)
        results[views] = metrics
    for name in ("mlm_loss", "gae_link_loss", "node_text_loss"):  # the corrupted pass as before
        assert float(results["graph"][name]) == pytest.approx(float(results[""][name]), rel=1e-6)
        assert float(results["tokens,graph"][name]) == pytest.approx(float(results[""][name]),
                                                                     rel=1e-6)
    assert float(results["graph"]["contrastive_loss"]) != pytest.approx(
        float(results[""]["contrastive_loss"]), rel=1e-6)
    task = TaskConfig(**{**base, "match_weight": 1.0}, clean_views="tokens,graph")
    model = PretrainingModel(MODEL, task, IDS)
    model(_step(model, task, records))["loss"].backward()
    assert all(p.grad is not None for p in model.parameters())  # DDP: every parameter joins
    with pytest.raises(ConfigError, match="clean_views"):
        TaskConfig(clean_views="fused")


def test_graphmae_decoder_feeds_the_reconstruction_heads_without_the_masked_nodes_states():
    """task.gae_decoder_layers (GraphMAE): the edge and node-text heads read a decoder over
    the visible edges; with re-masking, what the encoder left at a masked node never reaches
    the decoder, so its text must come back from the neighbours; every parameter still gets
    a gradient; a negative depth, or a decoder without GAE, is refused."""
    task = TaskConfig(**{**ONLY, "gae_weight": 1.0, "node_text_mask_rate": 0.5,
                         "gae_decoder_layers": 1})
    model = PretrainingModel(MODEL, task, IDS)
    step = _step(model, task, _records(4))
    assert step.masked_nodes.numel() > 0
    graph = step.inputs.graph
    states = torch.randn(graph.num_nodes, MODEL.gnn_hidden)
    moved = states.clone()
    moved[step.masked_nodes] += torch.randn(step.masked_nodes.numel(), MODEL.gnn_hidden)
    edges = (graph.edge_index, graph.edge_flow, graph.edge_position)
    with torch.no_grad():
        decoded = model.gae_decoder(states, step.masked_nodes, *edges)
        assert torch.allclose(model.gae_decoder(moved, step.masked_nodes, *edges), decoded)
        model.gae_decoder.mask_state = None  # as remask=False builds it
        assert not torch.allclose(model.gae_decoder(moved, step.masked_nodes, *edges), decoded)
    model = PretrainingModel(MODEL, task, IDS)
    metrics = model(step)
    assert float(metrics["node_text_loss"]) > 0 and float(metrics["gae_link_loss"]) > 0
    metrics["loss"].backward()
    assert all(p.grad is not None for p in model.parameters())  # DDP: every parameter joins
    assert model.gae_decoder.mask_state.grad.abs().sum() > 0
    assert model.encoder.graph_encoder.convs[0].weight.grad.abs().sum() > 0
    with pytest.raises(ConfigError, match="gae_decoder_layers"):
        TaskConfig(gae_decoder_layers=-1)
    with pytest.raises(ConfigError, match="gae_decoder_layers"):
        TaskConfig(**{**ONLY, "gae_decoder_layers": 1})


def test_variant_view_weights_scale_each_views_share_of_the_contrast():
    torch.manual_seed(0)
    groups = ["a", "a", "b", "b", "c", "c"]
    base = {**ONLY, "variant_weight": 1.0, "variant_views": "fused,graph"}
    plain = PretrainingModel(MODEL, TaskConfig(**base), IDS).eval()  # eval: no dropout
    records = _records(6, groups=groups)
    step = _step(plain, TaskConfig(**base), records)
    per_view = {}
    for view in ("fused", "graph"):
        task = TaskConfig(**{**base, "variant_views": view})
        single = PretrainingModel(MODEL, task, IDS).eval()
        single.load_state_dict(plain.state_dict(), strict=False)
        per_view[view] = float(single(step)["loss"])
    for weights, expected in (("", (1.0, 1.0)), ("fused=0.5", (0.5, 1.0)),
                              ("fused=0, graph=2", (0.0, 2.0))):
        task = TaskConfig(**{**base, "variant_view_weights": weights})
        model = PretrainingModel(MODEL, task, IDS).eval()
        model.load_state_dict(plain.state_dict())
        metrics = model(step)
        want = (expected[0] * per_view["fused"] + expected[1] * per_view["graph"]) / 2
        assert float(metrics["loss"]) == pytest.approx(want, rel=1e-5)
        # the logged loss stays the unweighted mean, comparable across weightings
        assert float(metrics["variant_loss"]) == pytest.approx(
            (per_view["fused"] + per_view["graph"]) / 2, rel=1e-5)
    # weight 0 on fused: the fusion layer gets no gradient from the contrast
    zero = PretrainingModel(MODEL, TaskConfig(**{**base, "variant_view_weights": "fused=0"}), IDS)
    zero(step)["loss"].backward()
    assert _fuse_grad(zero) == 0
    for bad in ("tokens=0.5", "fused", "fused=-1", "fused=x", "fused=1,fused=2"):
        with pytest.raises(ConfigError, match="variant_view_weights"):
            TaskConfig(**{**base, "variant_view_weights": bad})
