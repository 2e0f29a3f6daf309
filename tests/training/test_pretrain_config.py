"""Typed pre-training configs: defaults, YAML recipes, overrides, errors, dry run."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from mirencoder.infra.config import config_to_yaml, parse_override
from mirencoder.infra.errors import ConfigError
from mirencoder.training.core.model_config import ModelConfig
from mirencoder.training.pretraining.config import (
    PretrainConfig,
    TaskConfig,
    config_hash,
    load_pretrain_config,
)

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"


def test_defaults_are_valid_and_sections_typed():
    config = PretrainConfig()
    assert config.model.d_model == 128 and config.task.mask_rate == 0.15
    assert config.task.mask_token_fraction == 0.8 and config.task.random_token_fraction == 0.1


@pytest.mark.parametrize("name", ["tiny", "base", "champion", "anchor-size", "anchor128-ls-cat",
                                  "anchor128-counts-ls-cat"])
def test_bundled_configs_load_and_round_trip(name):
    config = load_pretrain_config(CONFIGS / f"{name}.yaml")
    assert config.name == (name if name != "champion" else "record-2cpu-residual-spread")
    again = load_pretrain_config(None, {})
    assert again != config  # the YAML changed something
    reloaded = yaml.safe_load(config_to_yaml(config))
    assert reloaded["model"]["d_model"] == config.model.d_model


def test_merge_order_defaults_yaml_overrides(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: r\nmodel: {d_model: 96, heads: 4}\noptim: {lr: 0.002}\n")
    config = load_pretrain_config(recipe, ["model.d_model=64", "trainer.devices=2",
                                     "trainer.num_nodes=3", "trainer.precision=32"])
    assert config.model.d_model == 64  # override beats YAML
    assert config.optim.lr == 0.002  # YAML beats default
    assert config.model.layers == ModelConfig().layers  # default kept
    assert (config.trainer.devices, config.trainer.num_nodes) == (2, 3)
    assert config.trainer.precision == "32"  # an int from YAML parsing becomes the str field


def test_every_problem_reported_at_once(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_pretrain_config(None, {"model.heads": 5, "model.positions": "sinus", "optim.lr": "x",
                              "task.nonsense": 1})
    text = str(error.value)
    for fragment in ("task.nonsense", "optim.lr", "heads (5) must divide", "positions"):
        assert fragment in text
    with pytest.raises(ConfigError, match="mask_rate"):
        TaskConfig(mask_rate=1.5)
    with pytest.raises(ConfigError, match="modle: unknown key"):
        load_pretrain_config(None, {"modle.d_model": 3})
    with pytest.raises(ConfigError, match="section.key=value"):
        parse_override("d_model")


def test_config_hash_ignores_where_the_run_happens():
    a = load_pretrain_config(None, {"trainer.output_dir": "/x", "data.num_workers": 3})
    b = load_pretrain_config(None, {"trainer.output_dir": "/y", "data.num_workers": 0,
                                    "trainer.threads": 1, "data.worker_start": "fork"})
    c = load_pretrain_config(None, {"model.d_model": 64})
    assert config_hash(a) == config_hash(b) != config_hash(c)
    # Starting weights change what a run learns; without them the hash is the one runs had
    # before the field existed (champion.yaml: the registered version 17's).
    assert config_hash(load_pretrain_config(None, {"init_from": "a.ckpt"})) != config_hash(a)
    assert config_hash(load_pretrain_config("champion")) == "7ed1b237cda963c4"
    assert config_hash(load_pretrain_config(None, {"task.gae_edge_weight": 0.0})) != config_hash(a)
    assert config_hash(load_pretrain_config(None, {"task.clean_views": "graph"})) != config_hash(a)
    decoded = config_hash(load_pretrain_config(None, {"task.gae_decoder_layers": 1}))
    assert decoded != config_hash(a)
    assert config_hash(load_pretrain_config(None, {"task.gae_decoder_layers": 1,
                                                   "task.gae_decoder_remask": False})) != decoded
    anchored = {"task.anchor_weight": 4.0}
    assert (config_hash(load_pretrain_config(None, {**anchored, "task.anchor_scale": "log_count"}))
            != config_hash(load_pretrain_config(None, anchored)))
    assert (config_hash(load_pretrain_config(None, {**anchored, "task.anchor_texts": "opcodes"}))
            != config_hash(load_pretrain_config(None, anchored)))


def test_cpu_threads_follow_the_setting_else_the_usable_cores():
    import os

    from mirencoder.training.pretraining.fit import cpu_threads

    assert cpu_threads(load_pretrain_config(None, {"trainer.threads": 1})) == 1
    cores = len(os.sched_getaffinity(0))
    assert cpu_threads(load_pretrain_config(None)) == cores
    assert cpu_threads(load_pretrain_config(None, {"trainer.devices": 2})) == max(1, cores // 2)
    with pytest.raises(ConfigError, match="threads must be >= 0"):
        load_pretrain_config(None, {"trainer.threads": -1})


def test_workers_start_from_the_fork_server_unless_told_otherwise():
    assert load_pretrain_config(None).data.worker_start == "forkserver"
    assert load_pretrain_config(None, {"data.worker_start": "spawn"}).data.worker_start == "spawn"
    with pytest.raises(ConfigError, match="worker_start must be one of forkserver, spawn, fork"):
        load_pretrain_config(None, {"data.worker_start": "thread"})


def test_cli_dry_run_prints_resolved_config():
    out = subprocess.run([sys.executable, "-m", "mirencoder", "pretrain", "--config", "tiny",
                          "--dry-run", "--set", "model.layers=3", "--set", "trainer.devices=2"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    body = yaml.safe_load(out.stdout)
    assert body["model"]["layers"] == 3 and body["trainer"]["devices"] == 2
    assert body["name"] == "tiny" and out.stdout.startswith("# resolved config (hash ")


def test_champion_config_is_the_run_of_record():
    """champion.yaml is the run behind RESULTS.md: every objective on, whole programs, the
    variant contrast on the embedding itself, registered; reproduce.sh runs it and builds its
    dataset from the recipe its folder is named after."""
    champion = load_pretrain_config("champion")
    task = champion.task
    assert min(task.mlm_weight, task.gae_weight, task.match_weight, task.contrastive_weight,
               task.variant_weight, task.outcome_weight) > 0
    assert task.variant_projection == "none" and task.hard_negative_mode == "contrastive"
    assert champion.model.fusion == "residual" and champion.task.spread_weight == 1.0
    assert champion.data.windows == "all" and champion.data.max_windows == 4
    assert champion.data.dataset_dir == "runs/datasets/pretrain-variants-2cpu-v1"
    assert champion.tracking.register and champion.trainer.max_steps == 1500
    reproduce = (CONFIGS.parents[1] / "infra" / "reproduce.sh").read_text()
    assert "CONFIG=training/configs/champion.yaml" in reproduce
    assert '--recipe "$(basename "$DATASET")"' in reproduce
    assert "python benchmarks/bench_embed.py" in reproduce  # the Targets table's speed row
    assert (CONFIGS.parents[1] / "datasets" / "pretrain-variants-2cpu-v1.yaml").is_file()


def test_two_stage_anchoring_recipe_chains_its_stages():
    """anchor128-ls-cat.yaml continues anchor-size.yaml: its init_from is stage 1's last
    checkpoint, the model is the same (the weights must load), and only the anchored columns,
    the corpus, the seed and the length change in the task and the data."""
    stage1 = load_pretrain_config(CONFIGS / "anchor-size.yaml")
    stage2 = load_pretrain_config(CONFIGS / "anchor128-ls-cat.yaml")
    assert stage2.init_from == f"runs/pretrain/{stage1.name}/checkpoints/last.ckpt"
    assert stage1.model == stage2.model and stage1.model.graph_readout == "mean_max_size"
    assert stage1.task.anchor_weight > 0 and stage1.task.anchor_columns == 32
    assert stage2.task.anchor_columns == stage2.model.fusion_dim
    assert replace(stage2.task, anchor_columns=32) == stage1.task
    assert stage2.data.dataset_dir == "runs/datasets/dapt-ls-cat-v1"
    assert (CONFIGS.parents[1] / "datasets" / "dapt-ls-cat-v1.yaml").is_file()
    assert replace(stage2.data, dataset_dir=stage1.data.dataset_dir, seed=stage1.data.seed) == \
        stage1.data
    assert stage2.trainer.max_steps < stage1.trainer.max_steps


def test_counting_recipe_is_the_ls_cat_stage_2_with_the_counting_readout():
    """anchor128-counts-ls-cat.yaml is anchor128-ls-cat.yaml with the counting readout and
    the anchors on the log-count scale; nothing else differs, so their scores compare."""
    plain = load_pretrain_config(CONFIGS / "anchor128-ls-cat.yaml")
    counts = load_pretrain_config(CONFIGS / "anchor128-counts-ls-cat.yaml")
    assert counts.model == replace(plain.model, graph_readout="mean_max_size_counts")
    assert counts.task == replace(plain.task, anchor_scale="log_count")
    assert (counts.data, counts.optim, counts.trainer, counts.init_from) == \
        (plain.data, plain.optim, plain.trainer, plain.init_from)


def test_one_stage_recipe_is_the_ls_cat_stage_2_from_random_weights():
    """anchor128-ls-cat-scratch.yaml is anchor128-ls-cat.yaml without stage 1's weights and
    with twice its steps; the objectives, corpus and sizes are the same, so the scores compare."""
    stage2 = load_pretrain_config(CONFIGS / "anchor128-ls-cat.yaml")
    scratch = load_pretrain_config(CONFIGS / "anchor128-ls-cat-scratch.yaml")
    assert not scratch.init_from and stage2.init_from
    assert (scratch.model, scratch.task, scratch.data, scratch.optim) == \
        (stage2.model, stage2.task, stage2.data, stage2.optim)
    assert scratch.trainer == replace(stage2.trainer, max_steps=600, val_every_n_steps=300)
    raw = load_pretrain_config(CONFIGS / "anchor128-ls-cat-scratch.yaml",
                               {"model.fusion": "residual_raw"})
    assert raw.model == replace(scratch.model, fusion="residual_raw")


def test_opcode_counts_recipe_is_the_one_stage_recipe_with_exact_counts():
    """anchor-opcode-counts-ls-cat.yaml is anchor128-ls-cat-scratch.yaml with the counting
    readout, no final LayerNorm, opcode anchors on the log-count scale and the counting
    projection at 30x the lr; corpus, steps and the other objectives are the same."""
    scratch = load_pretrain_config(CONFIGS / "anchor128-ls-cat-scratch.yaml")
    counts = load_pretrain_config(CONFIGS / "anchor-opcode-counts-ls-cat.yaml")
    assert counts.model == replace(scratch.model, fusion="residual_raw",
                                   graph_readout="mean_max_size_counts")
    assert counts.task == replace(scratch.task, anchor_texts="opcodes", anchor_scale="log_count")
    assert counts.optim == replace(scratch.optim, count_readout_lr_scale=30.0)
    assert (counts.data, counts.trainer, counts.init_from) == \
        (scratch.data, scratch.trainer, scratch.init_from)


def test_loop_counts_recipe_is_the_exact_counts_recipe_anchored_on_loop_counts():
    """anchor-loop-counts-ls-cat.yaml is anchor-opcode-counts-ls-cat.yaml at width 53 (no free
    column) with the loop-counting readout and the anchors on the opcode counts in loops."""
    counts = load_pretrain_config(CONFIGS / "anchor-opcode-counts-ls-cat.yaml")
    loops = load_pretrain_config(CONFIGS / "anchor-loop-counts-ls-cat.yaml")
    assert loops.model == replace(counts.model, fusion_dim=53,
                                  graph_readout="mean_max_size_loop_counts")
    assert loops.task == replace(counts.task, anchor_columns=53, anchor_texts="loop_opcodes")
    assert (loops.data, loops.optim, loops.trainer, loops.init_from) == \
        (counts.data, counts.optim, counts.trainer, counts.init_from)
    assert loops.task.anchor_loss == "pearson"
    assert config_hash(counts) == config_hash(load_pretrain_config(
        CONFIGS / "anchor-opcode-counts-ls-cat.yaml", {"task.anchor_loss": "pearson"}))


def test_loop_only_recipe_is_the_loop_counts_recipe_without_the_whole_count_map():
    """anchor-loop-only-counts-ls-cat.yaml is anchor-loop-counts-ls-cat.yaml with the loop map
    as the only counting readout, anchoring by value at 5x the weight, fused not spread."""
    loops = load_pretrain_config(CONFIGS / "anchor-loop-counts-ls-cat.yaml")
    only = load_pretrain_config(CONFIGS / "anchor-loop-only-counts-ls-cat.yaml")
    assert only.model == replace(loops.model, graph_readout="mean_max_size_loop_only_counts")
    assert only.task == replace(loops.task, anchor_loss="mse", anchor_weight=20.0,
                                spread_views="tokens,graph")
    assert (only.data, only.optim, only.trainer, only.init_from) == \
        (loops.data, loops.optim, loops.trainer, loops.init_from)


def test_gated_recipe_is_the_loop_only_recipe_with_gates_and_only_anchors_on_fused():
    """anchor-loop-only-gated-ls-cat.yaml is anchor-loop-only-counts-ls-cat.yaml with the gated
    fusion and no objective but the anchors on the fused vector."""
    only = load_pretrain_config(CONFIGS / "anchor-loop-only-counts-ls-cat.yaml")
    gated = load_pretrain_config(CONFIGS / "anchor-loop-only-gated-ls-cat.yaml")
    assert gated.model == replace(only.model, fusion="residual_gated")
    assert gated.task == replace(only.task, match_weight=0.0, outcome_weight=0.0,
                                 variant_views="tokens")
    assert (gated.data, gated.optim, gated.trainer, gated.init_from) == \
        (only.data, only.optim, only.trainer, only.init_from)


def test_sparse_recipe_is_the_gated_recipe_with_relu_gates_and_no_graph_spread():
    """anchor-loop-only-sparse-ls-cat.yaml is anchor-loop-only-gated-ls-cat.yaml with the
    sparse fusion and the spread on the token view only."""
    gated = load_pretrain_config(CONFIGS / "anchor-loop-only-gated-ls-cat.yaml")
    sparse = load_pretrain_config(CONFIGS / "anchor-loop-only-sparse-ls-cat.yaml")
    assert sparse.model == replace(gated.model, fusion="residual_sparse")
    assert sparse.task == replace(gated.task, spread_views="tokens")
    assert (sparse.data, sparse.optim, sparse.trainer, sparse.init_from) == \
        (gated.data, gated.optim, gated.trainer, gated.init_from)


def test_the_counting_readout_trains_at_its_own_learning_rate():
    """optim.count_readout_lr_scale puts the counting projection in a group of its own at
    that multiple of the lr, which the schedule scales like the rest; at 1.0 the config
    hashes as before the field."""
    from mirencoder.training.core.models.encoder import MIREncoder
    from mirencoder.training.pretraining.config import config_hash
    from mirencoder.training.pretraining.lit_module import build_optimizer

    config = load_pretrain_config(CONFIGS / "tiny.yaml", {
        "model.graph_readout": "mean_max_size_counts", "optim.count_readout_lr_scale": 10.0})
    model = MIREncoder(config.model, vocab_size=40, node_vocab_size=12, pad_id=0)
    optimizer, scheduler = build_optimizer(model, config.optim, 100)
    counting = optimizer.param_groups[-1]
    assert {id(p) for p in counting["params"]} == {id(p) for p in
                                                    model.fusion.count_proj.parameters()}
    assert counting["lr"] == pytest.approx(optimizer.param_groups[0]["lr"] * 10.0)
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(list(model.parameters()))
    looping = MIREncoder(replace(config.model, graph_readout="mean_max_size_loop_counts"),
                         vocab_size=40, node_vocab_size=12, pad_id=0)
    both = build_optimizer(looping, config.optim, 100)[0].param_groups[-1]
    assert {id(p) for p in both["params"]} == {
        id(p) for m in (looping.fusion.count_proj, looping.fusion.loop_count_proj)
        for p in m.parameters()}
    gated = MIREncoder(replace(config.model, fusion="residual_gated"), vocab_size=40,
                       node_vocab_size=12, pad_id=0)
    gates = build_optimizer(gated, config.optim, 100)[0].param_groups[-1]
    assert {id(p) for p in gates["params"]} == {id(p) for p in gated.fusion.gates.parameters()}
    assert (gates["weight_decay"], gates["lr"]) == (0.0, pytest.approx(counting["lr"]))
    sparse = MIREncoder(replace(config.model, fusion="residual_sparse"), vocab_size=40,
                        node_vocab_size=12, pad_id=0)
    sparse_groups = build_optimizer(sparse, config.optim, 100)[0].param_groups
    assert {id(p) for p in sparse_groups[-2]["params"]} == {
        id(p) for m in (sparse.fusion.count_proj, sparse.fusion.size_count_proj)
        for p in m.parameters()}
    plain = MIREncoder(replace(config.model, graph_readout="mean_max_size"), vocab_size=40,
                       node_vocab_size=12, pad_id=0)
    assert len(build_optimizer(plain, config.optim, 100)[0].param_groups) == 2
    tiny = load_pretrain_config(CONFIGS / "tiny.yaml")
    assert config_hash(tiny) == config_hash(load_pretrain_config(
        CONFIGS / "tiny.yaml", {"optim.count_readout_lr_scale": 1.0}))
    assert config_hash(tiny) != config_hash(load_pretrain_config(
        CONFIGS / "tiny.yaml", {"optim.count_readout_lr_scale": 10.0}))
    with pytest.raises(ConfigError, match="count_readout_lr_scale"):
        load_pretrain_config(CONFIGS / "tiny.yaml", {"optim.count_readout_lr_scale": 0.0})
