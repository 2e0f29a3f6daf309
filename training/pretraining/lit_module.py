"""LightningModule of pre-training: seeded task inputs, the weighted loss, AdamW + schedule."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import lightning as L
import torch

from ...infra.config import config_from_dict
from ...pipelines.ir.node_vocab import NodeTextVocabulary
from ..core.data.collate import ProgramBatch
from ..core.data.token_ids import TokenizerIds
from .config import OptimConfig, PretrainConfig, parse_views
from .pretraining_model import PretrainingModel
from .tasks.anchor import anchor_text_ids
from .tasks.decisions import load_decision_table
from .tasks.task_inputs import TaskInputs, prepare_task_inputs

__all__ = ["PretrainingModule", "step_seed", "lr_factor", "build_optimizer"]


def step_seed(seed: int, kind: str, step: int, rank: int) -> int:
    """A 63-bit seed for one step of one rank (``kind``: train | val)."""
    digest = hashlib.sha256(f"{seed}:{kind}:{step}:{rank}".encode()).hexdigest()
    return int(digest[:15], 16)


def lr_factor(step: int, *, warmup_steps: int, max_steps: int, lr: float, min_lr: float) -> float:
    """Multiplier of the peak lr: linear warm-up, then cosine down to ``min_lr``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, max_steps - warmup_steps))
    return (min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))) / lr


def build_optimizer(model: torch.nn.Module, optim: OptimConfig, max_steps: int
                    ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW (no decay on biases and norm weights) with the warm-up + cosine schedule; the
    counting readout's projections (all nodes, nodes in loops, the sparse fusion's log node
    count) at ``optim.count_readout_lr_scale`` times the lr, and the fusion gates
    (``residual_gated``, ``residual_sparse``) at that lr without decay, so a gate can travel
    from 1 to 0 within a short run and no decay pulls it there."""
    decay, no_decay, counting, gates = [], [], [], []
    for name, param in model.named_parameters():  # each (tied) tensor once
        if not param.requires_grad:
            continue
        owner = name.split(".")[-2:-1]
        if owner in (["count_proj"], ["loop_count_proj"], ["size_count_proj"]):
            counting.append(param)
        elif owner == ["gates"]:
            gates.append(param)
        else:
            (decay if param.ndim >= 2 else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": optim.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    if counting:
        groups.append({"params": counting, "weight_decay": optim.weight_decay,
                       "lr": optim.lr * optim.count_readout_lr_scale})
    if gates:
        groups.append({"params": gates, "weight_decay": 0.0,
                       "lr": optim.lr * optim.count_readout_lr_scale})
    optimizer = torch.optim.AdamW(groups, lr=optim.lr, betas=(optim.beta1, optim.beta2),
                                  eps=optim.eps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(
        step, warmup_steps=optim.warmup_steps, max_steps=max_steps, lr=optim.lr,
        min_lr=optim.min_lr))
    return optimizer, scheduler


class PretrainingModule(L.LightningModule):
    """Pre-trains :class:`PretrainingModel` on its tasks (see :class:`TaskConfig`).

    Args:
        config: the resolved run config as a plain dict (saved as hyper-parameters, so a
            checkpoint loads with ``weights_only=True``).
        tokenizer_ids: :meth:`TokenizerIds.to_dict` of the dataset.
        node_vector_lanes: lanes of each node-text id's vector type (vectorisation-outcome
            prediction only; ``tasks/vectorisation.dataset_vector_lanes``).
    """

    def __init__(self, config: dict[str, Any], tokenizer_ids: dict[str, int],
                 node_vector_lanes: list[int] | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.run_config = config_from_dict(PretrainConfig, config)
        self.ids = TokenizerIds(**tokenizer_ids)
        self.model = PretrainingModel(self.run_config.model, self.run_config.task, self.ids,
                                      node_vector_lanes)
        if self.run_config.trainer.compile:
            self.model.encoder.token_encoder = torch.compile(self.model.encoder.token_encoder)

    @property
    def encoder(self):
        return self.model.encoder

    # --- data: random choices on the CPU, then one transfer --------------------------------
    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        if not isinstance(batch, ProgramBatch):
            return batch
        training = self.trainer is not None and self.trainer.training
        kind = "train" if training else "val"
        step = self.global_step if training else self._val_batch
        self._val_batch += 0 if training else 1
        generator = torch.Generator().manual_seed(
            step_seed(self.run_config.data.seed, kind, step, self.global_rank))
        return prepare_task_inputs(batch, self.run_config.task, self.ids,
                                   node_mask_id=self.model.node_mask_id, generator=generator,
                                   decision_table=self._decisions(),
                                   anchor_text_ids=self._anchor_text_ids())

    _decision_table: dict[str, tuple[int, int, int]] | None = None

    def _decisions(self) -> dict[str, tuple[int, int, int]] | None:
        """The dataset's compiler-decision labels, read once when that task is on (not at
        construction: exporting a checkpoint needs no dataset)."""
        task = self.run_config.task
        if task.decision_weight <= 0:
            return None
        if self._decision_table is None:
            self._decision_table = load_decision_table(self.run_config.data.dataset_dir,
                                                       parse_views(task.decision_corpora))
        return self._decision_table

    _anchor_texts: list[int] | None = None

    def _anchor_text_ids(self) -> list[int] | None:
        """The node-text ids anchoring follows, from the dataset's vocabulary (read once, when
        ``task.anchor_texts`` is not ``frequent``); none: the most frequent texts."""
        task = self.run_config.task
        if task.anchor_weight <= 0 or task.anchor_texts == "frequent":
            return None
        if self._anchor_texts is None:
            vocab = NodeTextVocabulary.load(Path(self.run_config.data.dataset_dir)
                                            / "node_vocab.json")
            self._anchor_texts = anchor_text_ids(vocab.texts, task.anchor_columns,
                                                 task.anchor_texts)
        return self._anchor_texts

    def transfer_batch_to_device(self, batch: Any, device: torch.device,
                                 dataloader_idx: int) -> Any:
        if isinstance(batch, (TaskInputs, ProgramBatch)):
            return batch.to(device, non_blocking=True)
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    _val_batch = 0

    def on_validation_epoch_start(self) -> None:
        self._val_batch = 0  # the same masks at every validation

    # --- steps ----------------------------------------------------------------------------
    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        # Dropout draws from the global generator: reseed per step so a resumed run repeats
        # the uninterrupted one exactly.
        torch.manual_seed(step_seed(self.run_config.data.seed, "dropout", self.global_step,
                                    self.global_rank))

    def training_step(self, batch: TaskInputs, batch_idx: int) -> torch.Tensor:
        metrics = self.model(batch)
        self.log_dict({f"train/{name}": value for name, value in metrics.items()},
                      on_step=True, on_epoch=False, prog_bar=False,
                      batch_size=batch.num_programs)
        self.log("train/lr", self.lr_schedulers().get_last_lr()[0], on_step=True,
                 on_epoch=False, batch_size=batch.num_programs)
        return metrics["loss"]

    def validation_step(self, batch: TaskInputs, batch_idx: int) -> None:
        metrics = self.model(batch)
        # DDP reduces logged metrics key by key, so every rank must log the same names: those
        # any rank has in this step (a batch without two variants of one source has no
        # variant metrics). A rank without one logs it with weight 0, so the epoch mean
        # covers the batches that had it.
        names = self.model.metric_names()
        present = torch.tensor([float(name in metrics) for name in names], device=self.device)
        if self.trainer.world_size > 1:
            present = self.all_gather(present).reshape(-1, len(names)).amax(0)
        for name, anywhere in zip(names, present.tolist(), strict=True):
            if not anywhere:
                continue
            value = metrics.get(name)
            self.log(f"val/{name}", 0.0 if value is None else value, on_step=False,
                     on_epoch=True, sync_dist=True,
                     batch_size=0 if value is None else batch.num_programs)

    def configure_optimizers(self) -> dict:
        optimizer, scheduler = build_optimizer(self.model, self.run_config.optim,
                                               self.run_config.trainer.max_steps)
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1}}
