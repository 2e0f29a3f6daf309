"""Settings of the end-to-end fine-tuning head (``eval.finetune``): one typed dataclass,
validated on construction, shared by :mod:`~.finetune` and the frozen stacked head."""

from __future__ import annotations

from dataclasses import dataclass

from ...infra.errors import ConfigError
from ..core.model_config import ENCODER_OUTPUTS

__all__ = ["FineTuneConfig"]


@dataclass(kw_only=True, slots=True)
class FineTuneConfig:
    """Settings of the end-to-end fine-tuning head."""

    epochs: int = 3
    """End-to-end passes over each fold's training programs (encoder and head trained)."""
    encoder_lr: float = 1e-5
    """Peak AdamW learning rate of the encoder's weights in the end-to-end epochs."""
    head_lr: float = 1e-4
    """Peak AdamW learning rate of the MLP head in the end-to-end epochs (above the
    encoder's)."""
    warmup_fraction: float = 0.5
    """Share of the end-to-end steps over which the learning rates rise linearly from 0 (then
    they fall linearly to 0, as in BERT fine-tuning). Adam's first steps move every weight by
    about the full learning rate whatever the gradient; without a warm-up the first step alone
    (at 1e-5) raised the fitted head's loss on DevMap from 0.03 to 3."""
    probe_epochs: int = 500
    """Head-only epochs on the frozen embeddings before the end-to-end epochs ("LP-FT", Kumar
    et al., ICLR'22): a head fitted first keeps the first end-to-end steps from wrecking the
    pre-trained features, and a few end-to-end epochs cannot fit a head from scratch (on
    DevMap the head needs thousands of small steps). Cheap: the embeddings are computed once.
    0 starts end to end from a random head."""
    probe_lr: float = 3e-3
    """AdamW learning rate of the head-only epochs."""
    log_runtime: bool = True
    """``log1p`` the run-time inputs before min-max scaling: ``transfer`` spans 7 orders of
    magnitude, which a tree ignores but an MLP does not."""
    weight_decay: float = 0.01
    """AdamW weight decay (encoder and head)."""
    batch_size: int = 16
    """Programs per step; every training row of those programs is in the step's loss."""
    seed: int = 0
    """Seeds the head's initialisation, the batch order and any dropout (added to the run seed)."""
    modality: str = "fused"
    """The embedding the head reads: ``fused`` (the product), ``tokens`` or ``graph``."""
    hidden: int = 64
    """Hidden units of the MLP head."""
    grad_clip: float = 1.0
    """Gradient-norm clip over encoder and head (0 turns it off)."""
    threads: int = 1
    """torch threads while fitting and predicting (restored afterwards)."""
    device: str = "cpu"
    """Where the encoder trains (``cpu`` or ``cuda``)."""
    xgboost_readout: bool = False
    """Also read each fold's fine-tuned encoder with the protocol's XGBoost head (published
    settings, on ``[fine-tuned embedding ; transfer, wgsize]`` like the frozen rows): row
    ``<name>+xgboost``. Both rows share one fine-tuning per fold, so it costs only the
    embedding of the fold's programs and the trees."""
    runtime_base: bool = False
    """Stack the MLP on the protocol's XGBoost over the run-time inputs alone: logits =
    MLP + a learned scale (from 1) x the trees' margin, out of fold on the training rows
    (:class:`~.finetune_base.RuntimeBase`). The MLP reads the run-time inputs far worse than
    the trees; stacked, the encoder learns only what they leave unexplained."""
    runtime_base_folds: int = 5
    """Inner folds, grouped by program, for the training rows' margins (``runtime_base``)."""
    head_only_readout: bool = False
    """Also predict each fold's test rows with the head as it stood after the head-only epochs,
    on the frozen embeddings: row ``<name>+head-only``, the same head (stacked or not) before
    the end-to-end epochs, sharing the fold's fitting. What fine-tuning the encoder adds."""

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.epochs <= 1000:
            problems.append(f"epochs must be in [1, 1000], got {self.epochs}")
        if not 0 <= self.probe_epochs <= 100000:
            problems.append(f"probe_epochs must be in [0, 100000], got {self.probe_epochs}")
        for name in ("encoder_lr", "head_lr", "probe_lr"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                problems.append(f"{name} must be in [0, 1], got {value}")
        if not 0 <= self.warmup_fraction <= 1:
            problems.append(f"warmup_fraction must be in [0, 1], got {self.warmup_fraction}")
        if not 0 <= self.weight_decay <= 1:
            problems.append(f"weight_decay must be in [0, 1], got {self.weight_decay}")
        if not 1 <= self.batch_size <= 4096:
            problems.append(f"batch_size must be in [1, 4096], got {self.batch_size}")
        if self.seed < 0:
            problems.append(f"seed must be >= 0, got {self.seed}")
        if self.modality not in ENCODER_OUTPUTS:
            problems.append(f"modality must be one of {ENCODER_OUTPUTS}, got {self.modality!r}")
        if not 1 <= self.hidden <= 65536:
            problems.append(f"hidden must be in [1, 65536], got {self.hidden}")
        if self.grad_clip < 0:
            problems.append(f"grad_clip must be >= 0, got {self.grad_clip}")
        if not 1 <= self.threads <= 1024:
            problems.append(f"threads must be in [1, 1024], got {self.threads}")
        if self.head_only_readout and not self.probe_epochs:
            problems.append("head_only_readout needs probe_epochs > 0 (no head-only epochs, "
                            "no head-only head to read)")
        if not 2 <= self.runtime_base_folds <= 100:
            problems.append(f"runtime_base_folds must be in [2, 100], got "
                            f"{self.runtime_base_folds}")
        if not self.device.startswith(("cpu", "cuda")):
            problems.append(f"device must be cpu or cuda[:N], got {self.device!r}")
        if problems:
            raise ConfigError(problems)

    def describe(self) -> str:
        """One line for the report."""
        probe = (f"{self.probe_epochs} head-only epochs (lr {self.probe_lr:g}) on the frozen "
                 "embeddings, then " if self.probe_epochs else "")
        return (f"{probe}{self.epochs} end-to-end epochs, AdamW lr {self.encoder_lr:g} "
                f"(encoder) / {self.head_lr:g} (head), {self.warmup_fraction:g} linear warm-up "
                f"then linear decay, weight decay {self.weight_decay:g}, "
                f"{self.batch_size} programs per step; {self.modality} embedding ; "
                f"{'log-' if self.log_runtime else ''}min-max run-time inputs -> MLP "
                f"{self.hidden}"
                + (f", stacked on the protocol's XGBoost over the run-time inputs alone "
                   f"({self.runtime_base_folds} inner folds)" if self.runtime_base else "")
                + ("; the fine-tuned embedding also read by XGBoost" if self.xgboost_readout
                   else "")
                + ("; the head also read before the end-to-end epochs"
                   if self.head_only_readout else ""))
