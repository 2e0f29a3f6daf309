"""Encoder packages from pre-training checkpoints: probe a run part-way, or an interrupted one.

``mirencoder pretrain export --checkpoint RUN/checkpoints/last.ckpt --out DIR`` writes the same package a
finished run writes (weights, vocabularies, lineage), its lineage naming the checkpoint and
its step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ...infra.config import check, raise_problems
from ...infra.errors import ConfigError

__all__ = ["ExportConfig", "export_checkpoint"]


@dataclass(kw_only=True, slots=True)
class ExportConfig:
    """What ``mirencoder pretrain export`` writes."""

    checkpoint: str = ""
    """The pre-training checkpoint, e.g. runs/pretrain/NAME/checkpoints/last.ckpt."""
    out_dir: str = ""
    """The package folder to write (replaced when it exists)."""

    def __post_init__(self) -> None:
        problems: list[str] = []
        check(problems, bool(self.checkpoint), "checkpoint is not set (--checkpoint FILE)")
        check(problems, bool(self.out_dir), "out_dir is not set (--out DIR)")
        raise_problems(problems, "export")


def export_checkpoint(checkpoint: str | Path, out_dir: str | Path) -> Path:
    """Writes the encoder of a Lightning pre-training checkpoint as a package in ``out_dir``.

    The run config and the tokenizer ids come from the checkpoint itself; the dataset it names
    supplies the vocabularies and the lineage hashes.

    Raises:
        ConfigError: the file is missing or is not a pre-training checkpoint.
    """
    import torch

    from .lit_module import PretrainingModule
    from .run_context import describe_run, save_run_package

    checkpoint = Path(checkpoint)
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
    module = PretrainingModule(hparams["config"], hparams["tokenizer_ids"],
                               hparams.get("node_vector_lanes"))
    module.load_state_dict(state["state_dict"])
    config = module.run_config
    extra = {"exported_from_checkpoint": str(checkpoint.resolve())}
    tracking = checkpoint.resolve().parent.parent / "mlflow_run.json"
    if tracking.is_file():
        record = json.loads(tracking.read_text())
        extra.update(mlflow_run_id=record.get("run_id"), tracking_uri=record.get("tracking_uri"))
    return save_run_package(config, describe_run(config), module.encoder, Path(out_dir),
                            steps=int(state.get("global_step", 0)), **extra)
