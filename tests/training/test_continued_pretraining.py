"""Continued pre-training (``init_from``): a run starts from a checkpoint's whole module or a
package's encoder, names them in its lineage, and refuses weights that do not fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from mirencoder.infra.errors import ConfigError
from mirencoder.training.pretraining.config import load_pretrain_config
from mirencoder.training.pretraining.init_from import load_initial_weights
from mirencoder.training.pretraining.lit_module import PretrainingModule
from mirencoder.training.pretraining.pretrain import pretrain
from mirencoder.training.pretraining.run_context import describe_run

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"


def _module(config) -> PretrainingModule:
    return PretrainingModule(config.to_dict(), describe_run(config).tokenizer_ids.to_dict())


def _load(module: PretrainingModule, init_from: Path | str) -> None:
    run = describe_run(module.run_config)
    load_initial_weights(module, str(init_from), tokenizer_sha256=run.tokenizer_sha256,
                         node_vocab_sha256=run.node_vocab_sha256)


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(bool((a[k] == b[k]).all()) for k in a)


@pytest.fixture()
def first_run(small_overrides: dict, tmp_path: Path):
    overrides = {**small_overrides, "trainer.max_steps": 4,
                 "trainer.output_dir": str(tmp_path / "first")}
    return pretrain(load_pretrain_config(CONFIGS / "tiny.yaml", overrides)), overrides


def test_a_run_continues_from_a_checkpoint_and_names_it(first_run, tmp_path: Path):
    result, overrides = first_run
    checkpoint = Path(result.output_dir, "checkpoints", "last.ckpt")
    config = load_pretrain_config(CONFIGS / "tiny.yaml", {
        **overrides, "init_from": str(checkpoint), "trainer.max_steps": 2,
        "trainer.output_dir": str(tmp_path / "continued")})
    module = _module(config)
    _load(module, checkpoint)  # the whole module, task heads included
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    assert _same(module.state_dict(), saved)

    continued = pretrain(config)
    assert continued.finished and continued.final_step == 2
    lineage = json.loads(Path(continued.package_dir, "lineage.json").read_text())
    assert lineage["initialized_from"] == str(checkpoint.resolve())
    assert lineage["initialized_from_step"] == 4 and len(lineage["initialized_from_sha256"]) == 64
    first = load_file(Path(result.package_dir, "encoder.safetensors"))
    fresh = pretrain(load_pretrain_config(CONFIGS / "tiny.yaml", {
        **overrides, "trainer.max_steps": 2, "data.seed": 1,  # other random weights
        "trainer.output_dir": str(tmp_path / "fresh")}))
    after = load_file(Path(continued.package_dir, "encoder.safetensors"))
    scratch = load_file(Path(fresh.package_dir, "encoder.safetensors"))
    name = "token_encoder.embedding.weight" if "token_encoder.embedding.weight" in after else \
        next(k for k in after if after[k].is_floating_point())

    def distance(a: dict, b: dict) -> float:
        return float((a[name] - b[name]).norm())

    # Two more steps move the weights a little from where the first run ended, far less
    # than two steps from other random weights are from it.
    assert 0 < distance(after, first) < distance(scratch, first)


def test_a_package_gives_the_encoder_only(first_run):
    result, overrides = first_run
    module = _module(load_pretrain_config(CONFIGS / "tiny.yaml", overrides))
    _load(module, result.package_dir)
    package = load_file(Path(result.package_dir, "encoder.safetensors"))
    assert _same(module.encoder.state_dict(), package)


def test_weights_that_do_not_fit_are_refused(first_run, tmp_path: Path):
    result, overrides = first_run
    checkpoint = Path(result.output_dir, "checkpoints", "last.ckpt")
    wider = _module(load_pretrain_config(CONFIGS / "tiny.yaml", {
        **overrides, "model.ffn": 2 * int(overrides.get("model.ffn", 128))}))
    for source in (checkpoint, Path(result.package_dir)):
        with pytest.raises(ConfigError, match="another architecture"):
            _load(wider, source)
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    state["hyper_parameters"]["tokenizer_ids"]["vocab_size"] += 1
    torch.save(state, tmp_path / "other-vocab.ckpt")
    module = _module(load_pretrain_config(CONFIGS / "tiny.yaml", overrides))
    with pytest.raises(ConfigError, match="another tokenizer"):
        _load(module, tmp_path / "other-vocab.ckpt")
    other_dataset = tmp_path / "other-dataset"  # same sizes, other vocabularies
    other_dataset.mkdir()
    (other_dataset / "index.json").write_text(json.dumps({"tokenizer_sha256": "0" * 64,
                                                          "node_vocab_sha256": "1" * 64}))
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    state["hyper_parameters"]["config"]["data"]["dataset_dir"] = str(other_dataset)
    torch.save(state, tmp_path / "other-dataset.ckpt")
    with pytest.raises(ConfigError, match="another tokenizer or node vocabulary"):
        _load(module, tmp_path / "other-dataset.ckpt")
    with pytest.raises(ConfigError, match="neither a pre-training checkpoint"):
        _load(module, tmp_path / "missing")


def test_a_checkpoint_from_before_a_model_field_still_loads(first_run, tmp_path: Path):
    """A run written before ``model.graph_readout`` existed had its default readout."""
    result, overrides = first_run
    state = torch.load(Path(result.output_dir, "checkpoints", "last.ckpt"), map_location="cpu",
                       weights_only=True)
    state["hyper_parameters"]["config"]["model"].pop("graph_readout")
    torch.save(state, tmp_path / "older.ckpt")
    module = _module(load_pretrain_config(CONFIGS / "tiny.yaml", overrides))
    _load(module, tmp_path / "older.ckpt")
    assert _same(module.state_dict(), state["state_dict"])
    sized = _module(load_pretrain_config(CONFIGS / "tiny.yaml", {
        **overrides, "model.graph_readout": "mean_max_size"}))
    with pytest.raises(ConfigError, match="another architecture"):
        _load(sized, tmp_path / "older.ckpt")


def test_a_counting_readout_may_be_added_to_a_size_aware_start(small_overrides: dict,
                                                               tmp_path: Path):
    """Stage 2 may add ``mean_max_size_counts`` to a ``mean_max_size`` stage 1: every weight
    comes from the start but the counting projection, which keeps its random initialisation;
    the other way round, or from another readout, is refused."""
    overrides = {**small_overrides, "trainer.max_steps": 2, "model.graph_readout": "mean_max_size",
                 "trainer.output_dir": str(tmp_path / "sized")}
    start = pretrain(load_pretrain_config(CONFIGS / "tiny.yaml", overrides))
    checkpoint = Path(start.output_dir, "checkpoints", "last.ckpt")
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    package = load_file(Path(start.package_dir, "encoder.safetensors"))
    counting_overrides = {**overrides, "model.graph_readout": "mean_max_size_counts"}
    for source in (checkpoint, Path(start.package_dir)):
        counting = _module(load_pretrain_config(CONFIGS / "tiny.yaml", counting_overrides))
        fresh = {k: v.clone() for k, v in counting.state_dict().items() if "count_proj" in k}
        _load(counting, source)
        state = counting.state_dict()
        assert len(fresh) == 2 and all(bool((state[k] == v).all()) for k, v in fresh.items())
        if source == checkpoint:
            assert _same({k: v for k, v in state.items() if "count_proj" not in k}, saved)
        else:
            encoder = counting.encoder.state_dict()
            assert _same({k: v for k, v in encoder.items() if "count_proj" not in k}, package)
    counted = pretrain(load_pretrain_config(CONFIGS / "tiny.yaml", {
        **counting_overrides, "init_from": str(checkpoint),
        "trainer.output_dir": str(tmp_path / "counting")}))
    assert counted.finished
    back = _module(load_pretrain_config(CONFIGS / "tiny.yaml", overrides))
    blind = _module(load_pretrain_config(CONFIGS / "tiny.yaml", {
        **overrides, "model.graph_readout": "mean_max"}))
    for module in (back, blind):
        with pytest.raises(ConfigError, match="another architecture"):
            _load(module, Path(counted.output_dir, "checkpoints", "last.ckpt"))
    with pytest.raises(ConfigError, match="another architecture"):
        _load(_module(load_pretrain_config(CONFIGS / "tiny.yaml", counting_overrides)),
              _blind_checkpoint(checkpoint, tmp_path))


def _blind_checkpoint(checkpoint: Path, tmp_path: Path) -> Path:
    """``checkpoint`` relabelled as a size-blind run (its readout then differs by more than the
    counting part)."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    state["hyper_parameters"]["config"]["model"]["graph_readout"] = "mean_max"
    torch.save(state, tmp_path / "blind.ckpt")
    return tmp_path / "blind.ckpt"


def test_an_added_objective_starts_its_head_fresh_and_a_dropped_one_is_refused(first_run):
    result, overrides = first_run
    checkpoint = Path(result.output_dir, "checkpoints", "last.ckpt")
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    looped = _module(load_pretrain_config(CONFIGS / "tiny.yaml", {
        **overrides, "task.loop_weight": 1.0}))
    fresh_head = {k: v.clone() for k, v in looped.state_dict().items() if "loop_head" in k}
    _load(looped, checkpoint)
    state = looped.state_dict()
    assert fresh_head and all(bool((state[k] == v).all()) for k, v in fresh_head.items())
    assert _same({k: v for k, v in state.items() if "loop_head" not in k}, saved)
    looped_checkpoint = Path(result.output_dir, "looped.ckpt")
    torch.save({"state_dict": state, "hyper_parameters": dict(looped.hparams),
                "global_step": 4}, looped_checkpoint)
    plain = _module(load_pretrain_config(CONFIGS / "tiny.yaml", overrides))
    with pytest.raises(ConfigError, match="unexpected: model.loop_head"):
        _load(plain, looped_checkpoint)
