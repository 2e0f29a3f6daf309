"""Lightning callbacks of pre-training: a metrics history file and a simulated kill."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L

__all__ = ["MetricsHistory", "StopAtStep"]


class MetricsHistory(L.Callback):
    """Appends the logged metrics to ``metrics.jsonl`` every ``every`` steps (rank 0).

    One JSON object per line: ``{"step": n, "train/loss": ..., ...}``; validation results
    are lines with ``val/...`` keys. The file survives a resume (rows after the checkpoint's
    step are dropped first, so the history has no duplicates).
    """

    def __init__(self, path: str | Path, every: int):
        self.path, self.every = Path(path), every
        self.rows: list[dict[str, Any]] = []
        self.start_step = 0  # the step training (re)started from

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.start_step = trainer.global_step
        if not trainer.is_global_zero:
            return
        kept = []
        if self.path.exists() and trainer.global_step > 0:
            for line in self.path.read_text().splitlines():
                row = json.loads(line)
                if row["step"] <= trainer.global_step:
                    kept.append(row)
        self.rows = kept
        self.path.write_text("".join(json.dumps(row) + "\n" for row in kept))

    def _append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        with self.path.open("a") as stream:
            stream.write(json.dumps(row) + "\n")

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any,
                           batch: Any, batch_idx: int) -> None:
        step = trainer.global_step
        if not trainer.is_global_zero or (step % self.every and step != trainer.max_steps
                                          and step != 1):
            return
        row = {"step": step}
        row.update({name: round(float(value), 6) for name, value in
                    trainer.callback_metrics.items() if name.startswith("train/")})
        self._append(row)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.sanity_checking:
            return
        row = {"step": trainer.global_step}
        row.update({name: round(float(value), 6) for name, value in
                    trainer.callback_metrics.items() if name.startswith("val/")})
        if len(row) > 1:
            self._append(row)


class StopAtStep(L.Callback):
    """Stops training after ``step`` optimizer steps, as a kill would (the schedule still
    targets ``max_steps``); with a checkpoint at that step, ``--resume`` picks up from it."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any,
                           batch: Any, batch_idx: int) -> None:
        if self.step and trainer.global_step >= self.step:
            trainer.should_stop = True
