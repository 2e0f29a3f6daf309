"""The stacked head on frozen features (``--heads stacked``, device mapping).

The fine-tuning's stacked head (``finetune.runtime_base``) without the fine-tuning, for every
feature set: the published XGBoost on the run-time inputs alone gives base logits (out of fold
on the training rows, :class:`~.finetune_base.RuntimeBase`), and a small MLP on ``[program
features ; run-time inputs]`` adds to them. The same head on the encoder, its untrained twin
and the controls: does a representation add anything to what ``transfer`` and ``wgsize``
already say, under a head that reads them as well as the trees do?
"""

from __future__ import annotations

import numpy as np

from .finetune_base import RuntimeBase
from .finetune_config import FineTuneConfig
from .head_network import fit_head_only, head_classifier, torch_threads
from .heads import signed_log1p

__all__ = ["StackedMLPHead"]

_RUNTIME_COLUMNS = 2
"""DevMap's run-time inputs, the last columns of every feature matrix: transfer, wgsize."""


class StackedMLPHead:
    """MLP on ``[program features ; run-time inputs]`` plus a learned scale times the
    run-time trees' margin, trained alone with the fine-tuning's head-only settings
    (:class:`~.finetune_config.FineTuneConfig` defaults: epochs, learning rate, weight decay, width).

    Program features pass through :func:`~.heads.signed_log1p`, then the classifier's
    standardisation (training rows) and LayerNorm; the run-time inputs are ``log1p``-ed and
    min-max scaled on the training rows; the trees' inner folds group the rows by the
    ``groups`` given (the evaluation passes each row's kernel), else by identical program
    features.

    Args:
        task: ``devmap`` (the only task with run-time inputs).
        seed: initialisation, batch order, the trees' ``random_state``.
        threads: torch threads while fitting and predicting.
        settings: the head-only epochs, learning rate, weight decay and width (``probe_epochs``,
            ``probe_lr``, ``weight_decay``, ``hidden``, ``runtime_base_folds``); default the
            fine-tuning's.
    """

    deterministic = False
    uses_groups = True

    def __init__(self, task: str = "devmap", seed: int = 0, threads: int = 1,
                 settings: FineTuneConfig | None = None):
        if task != "devmap":
            raise ValueError(f"the stacked head needs run-time inputs (device mapping), not "
                             f"{task!r}")
        self.task, self.seed, self.threads = task, int(seed), int(threads)
        self.settings = settings or FineTuneConfig(runtime_base=True)
        self.classifier = None
        self.base: RuntimeBase | None = None

    def _split(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or features.shape[1] < _RUNTIME_COLUMNS:
            raise ValueError(f"expected [N, program columns + {_RUNTIME_COLUMNS}] features, "
                             f"got shape {features.shape}")
        program, runtime = features[:, :-_RUNTIME_COLUMNS], features[:, -_RUNTIME_COLUMNS:]
        if not program.shape[1]:  # run-time inputs only: one constant program column
            program = np.zeros((len(features), 1))
        return signed_log1p(program), runtime, np.log1p(np.maximum(runtime, 0))

    def _tensors(self, program: np.ndarray, logged: np.ndarray, runtime: np.ndarray):
        import torch

        scaled = (logged - self.low) / self.span
        return (torch.as_tensor(program, dtype=torch.float32),
                torch.as_tensor(scaled, dtype=torch.float32),
                torch.as_tensor(self.base.margins(runtime), dtype=torch.float32))

    def fit(self, features: np.ndarray, labels: np.ndarray,
            groups: np.ndarray | None = None) -> StackedMLPHead:
        import torch

        program, runtime, logged = self._split(features)
        self.classes_, encoded = np.unique(np.asarray(labels), return_inverse=True)
        self.classifier = None
        if len(self.classes_) <= 1:
            return self
        if groups is None:
            _, groups = np.unique(program, axis=0, return_inverse=True)
        settings = self.settings
        self.base = RuntimeBase(len(self.classes_), settings.runtime_base_folds,
                                seed=self.seed, task=self.task).fit(runtime, encoded, groups)
        self.low = logged.min(axis=0)
        span = logged.max(axis=0) - self.low
        self.span = np.where(span > 0, span, 1.0)
        with torch_threads(self.threads), torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            classifier = head_classifier(program.shape[1], _RUNTIME_COLUMNS, settings.hidden,
                                         len(self.classes_))
            embeddings, scaled, _ = self._tensors(program, logged, runtime)
            base = torch.as_tensor(self.base.train_margins, dtype=torch.float32)
            classifier.standardize(embeddings)
            fit_head_only(classifier, embeddings, scaled,
                          torch.as_tensor(encoded, dtype=torch.long), base,
                          epochs=settings.probe_epochs, lr=settings.probe_lr,
                          weight_decay=settings.weight_decay,
                          order=np.random.default_rng(self.seed))
        self.classifier = classifier.eval()
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        import torch

        program, runtime, logged = self._split(features)
        if self.classifier is None:
            return np.full(len(program), self.classes_[0])
        with torch_threads(self.threads), torch.inference_mode():
            logits = self.classifier(*self._tensors(program, logged, runtime))
        return self.classes_[logits.argmax(dim=1).numpy()]
