"""Encoder packages from pre-training checkpoints: probe a run part-way, or an interrupted one.

``mirencoder pretrain export --checkpoint RUN/checkpoints/last.ckpt --out DIR`` writes the same package a
finished run writes (weights, vocabularies, lineage), its lineage naming the checkpoint and
its step. ``--set average_with=A.ckpt,B.ckpt`` averages the weights of several checkpoints of
the run (kept with ``trainer.keep_checkpoints``) into one package.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ...infra.config import check, raise_problems
from ...infra.errors import ConfigError

__all__ = ["ExportConfig", "average_weights", "export_checkpoint", "read_checkpoint"]


@dataclass(kw_only=True, slots=True)
class ExportConfig:
    """What ``mirencoder pretrain export`` writes."""

    checkpoint: str = ""
    """The pre-training checkpoint, e.g. runs/pretrain/NAME/checkpoints/last.ckpt."""
    out_dir: str = ""
    """The package folder to write (replaced when it exists)."""
    average_with: str = ""
    """Comma-separated checkpoints of the same run averaged with ``checkpoint`` ('' : none)."""

    def __post_init__(self) -> None:
        problems: list[str] = []
        check(problems, bool(self.checkpoint), "checkpoint is not set (--checkpoint FILE)")
        check(problems, bool(self.out_dir), "out_dir is not set (--out DIR)")
        raise_problems(problems, "export")


def read_checkpoint(checkpoint: Path) -> dict:
    """A pre-training checkpoint's saved state (weights, hyper-parameters, step).

    Raises:
        ConfigError: the file is missing or is not a pre-training checkpoint.
    """
    import torch

    if not checkpoint.is_file():
        raise ConfigError(f"no checkpoint file {checkpoint}")
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file gets the same message
        raise ConfigError(f"{checkpoint} is not a readable PyTorch checkpoint "
                          f"({type(error).__name__})") from error
    hparams = state.get("hyper_parameters") if isinstance(state, dict) else None
    if not isinstance(hparams, dict) or not {"config", "tokenizer_ids"} <= hparams.keys():
        raise ConfigError(f"{checkpoint} is not a mirencoder pre-training checkpoint "
                          "(no run config in its hyper-parameters)")
    return state


def average_weights(states: Sequence[dict]) -> dict:
    """The uniform mean of several checkpoints' floating-point weights (the first's others).

    Checkpoints of one run along its trajectory (stochastic weight averaging, Izmailov et
    al. 2018; a coarse stand-in for the EMA teacher of BYOL and DINO).

    Raises:
        ConfigError: the checkpoints hold different runs (config or weight names differ).
    """
    from ...infra.config import config_from_dict
    from .config import PretrainConfig, config_hash

    def learned(state: dict) -> str:  # the settings that decide what a run learns
        return config_hash(config_from_dict(PretrainConfig, state["hyper_parameters"]["config"]))

    first = states[0]
    for other in states[1:]:
        if learned(other) != learned(first):
            raise ConfigError("checkpoints of different runs (their run configs differ) "
                              "cannot be averaged")
        if other["state_dict"].keys() != first["state_dict"].keys():
            raise ConfigError("checkpoints with different weights cannot be averaged")
    averaged = dict(first["state_dict"])
    for name, tensor in first["state_dict"].items():
        if tensor.is_floating_point():
            averaged[name] = sum(s["state_dict"][name].double() for s in states).div(
                len(states)).to(tensor.dtype)
    return averaged


def export_checkpoint(checkpoint: str | Path, out_dir: str | Path, *,
                      average_with: Sequence[str | Path] = ()) -> Path:
    """Writes the encoder of a Lightning pre-training checkpoint as a package in ``out_dir``.

    The run config and the tokenizer ids come from the checkpoint itself; the dataset it names
    supplies the vocabularies and the lineage hashes. ``average_with``: other checkpoints of
    the same run whose weights are averaged with it (:func:`average_weights`); the package
    keeps ``checkpoint``'s step and its lineage lists every averaged checkpoint.

    Raises:
        ConfigError: a file is missing or is not a pre-training checkpoint of the same run.
    """
    from .lit_module import PretrainingModule
    from .run_context import describe_run, save_run_package

    checkpoint = Path(checkpoint)
    state = read_checkpoint(checkpoint)
    hparams = state["hyper_parameters"]
    module = PretrainingModule(hparams["config"], hparams["tokenizer_ids"],
                               hparams.get("node_vector_lanes"))
    extra: dict = {"exported_from_checkpoint": str(checkpoint.resolve())}
    weights = state["state_dict"]
    if average_with:
        others = [Path(path) for path in average_with]
        weights = average_weights([state, *(read_checkpoint(path) for path in others)])
        extra["averaged_checkpoints"] = [str(p.resolve()) for p in (checkpoint, *others)]
    module.load_state_dict(weights)
    config = module.run_config
    tracking = checkpoint.resolve().parent.parent / "mlflow_run.json"
    if tracking.is_file():
        record = json.loads(tracking.read_text())
        extra.update(mlflow_run_id=record.get("run_id"), tracking_uri=record.get("tracking_uri"))
    return save_run_package(config, describe_run(config), module.encoder, Path(out_dir),
                            steps=int(state.get("global_step", 0)), **extra)
