"""End-to-end fine-tuning of the encoder with a small head, run per fold like the frozen heads.

The frozen heads (:mod:`~mirencoder.training.evaluation.heads`) see one fixed vector per
program; a fine-tuned encoder must see the programs themselves. :class:`FineTuneMethod` is
therefore both a featurizer and a head factory: as a featurizer it prepares each program's
record (token ids + graph arrays, :meth:`Embedder.prepare_file`) and returns the program's
*index* as its one feature column; the evaluation runner then trains a :class:`FineTuneHead`
per fold on ``[program index ; run-time inputs]``. Each head loads a fresh copy of the encoder
from its package, puts a small MLP on ``[embedding ; min-max-scaled run-time inputs]``, fits
the MLP alone on the frozen embeddings first (LP-FT: cheap, the embeddings are shared by the
folds), then trains both with AdamW (a lower learning rate for the encoder, linear warm-up and
decay) for a few epochs on the training rows, and predicts the test rows.

CPU-friendly: one torch thread by default, programs in small batches, the first token window
only (as at evaluation time, :func:`collate_records` with ``rng=None``), graphs cut to the
package's ``max_graph_nodes``. Deterministic for a fixed seed (torch's global RNG is seeded
inside a forked RNG state, the batch order comes from a seeded numpy generator).

With ``xgboost_readout`` each fold's fine-tuned encoder is also read by the protocol's own
head: :class:`~.finetune_readout.FineTunedReadout` (row ``<name>+xgboost``) fits XGBoost
(published settings) on ``[fine-tuned embedding ; transfer, wgsize]`` of the fold's training
rows, as the frozen rows do on the frozen embedding. Both rows share one fine-tuning per fold
and seed (:meth:`FineTuneMethod.fitted_head`); with ``head_only_readout`` row
``<name>+head-only`` predicts with the head as it stood before the end-to-end epochs. With
``runtime_base`` the MLP is stacked on the protocol's XGBoost over the run-time inputs alone
(:mod:`~.finetune_base`).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from ...infra.errors import ConfigError
from ...infra.files import sha256_file
from .finetune_base import RuntimeBase
from .finetune_config import FineTuneConfig
from .head_network import fit_head_only, head_classifier, torch_threads
from .programs import EvalProgram

__all__ = ["FineTuneConfig", "FineTuneHead", "FineTuneMethod", "SharedFineTuneHead",
           "FINETUNE_METHOD", "UNTRAINED_FINETUNE_METHOD", "XGBOOST_READOUT_SUFFIX",
           "HEAD_ONLY_READOUT_SUFFIX", "head_classifier", "fit_head_only"]

FINETUNE_METHOD = "encoder+finetune"
"""The method's name in reports."""
UNTRAINED_FINETUNE_METHOD = "encoder-untrained+finetune"
"""The untrained twin fine-tuned with the same settings: what pre-training is measured against."""
XGBOOST_READOUT_SUFFIX = "+xgboost"
HEAD_ONLY_READOUT_SUFFIX = "+head-only"
"""Suffix of the row that reads a fine-tuned encoder with the protocol's XGBoost head."""


class FineTuneHead:
    """Fine-tunes a fresh copy of the encoder with an MLP head on one fold's training rows.

    Same ``fit``/``predict`` protocol as the frozen heads, but the feature matrix is
    ``[N, 1 + R]``: column 0 is the row's program (an index into ``records``), the other R
    columns its run-time inputs (``log1p`` when configured, then min-max scaled on the
    training rows as the XGBoost head does).

    Training: the MLP first learns on the frozen embeddings (``probe_epochs``; the embedding is
    standardised with the training rows' frozen statistics), then encoder and MLP train
    together (``epochs``, AdamW, the encoder at the lower learning rate).

    Args:
        records: prepared program records (:meth:`Embedder.prepare_file`), indexed by column 0.
        package_dir: the encoder package; every :meth:`fit` starts from its weights.
        config: training settings.
        tokenizer_ids: special ids and vocabulary sizes for :func:`collate_records`.
        context_length: the encoder's context ([CLS] + first token window).
        max_graph_nodes: graphs keep at most this many nodes.
        frozen: ``records -> [len(records), D]`` embeddings of the package's encoder in eval
            mode (shared by the folds; computed here when None).
        progress: show a progress bar while training.

    Attributes (after :meth:`fit`):
        encoder: the fine-tuned encoder (None when the training rows hold one class only).
        classifier: the trained MLP head.
        classes_: the sorted labels.
        losses: mean training loss of each end-to-end epoch.
        step_losses: the loss of every end-to-end step.
        probe_loss: mean loss of the last head-only epoch (None without them).
    """

    deterministic = False

    def __init__(self, records: Sequence[dict[str, Any] | None], package_dir: str | Path,
                 config: FineTuneConfig, *, tokenizer_ids: Any, context_length: int,
                 max_graph_nodes: int | None,
                 frozen: Callable[[], np.ndarray] | None = None, progress: bool = False):
        self.records = records
        self.package_dir = Path(package_dir)
        self.config = config
        self.tokenizer_ids = tokenizer_ids
        self.context_length = int(context_length)
        self.max_graph_nodes = max_graph_nodes
        self.frozen = frozen
        self.progress = progress
        self.encoder = None
        self.classifier = None
        self.losses: list[float] = []
        self.step_losses: list[float] = []
        self.probe_loss: float | None = None
        self.base: RuntimeBase | None = None
        self.head_only = None

    # ------------------------------------------------------------------ helpers

    def _split(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or features.shape[1] < 1:
            raise ValueError(f"expected [N, 1 + R] features, got shape {features.shape}")
        programs = features[:, 0]
        if not np.isfinite(programs).all() or (programs != np.round(programs)).any():
            raise ValueError("column 0 must hold program indices (whole numbers)")
        programs = programs.astype(np.int64)
        if len(programs) and (programs.min() < 0 or programs.max() >= len(self.records)):
            raise ValueError(f"program index outside the {len(self.records)} records")
        missing = sorted({int(p) for p in programs if self.records[p] is None})
        if missing:
            raise ValueError(f"programs {missing[:5]} have no record (preparation failed)")
        runtime = features[:, 1:]
        return programs, np.log1p(np.maximum(runtime, 0)) if self.config.log_runtime else runtime

    def _scaled(self, runtime: np.ndarray):
        import torch

        return torch.as_tensor((runtime - self.low) / self.span, dtype=torch.float32,
                               device=self.config.device)

    def _embed(self, encoder, programs: np.ndarray):
        """Embeddings of the given programs (each distinct program encoded once)."""
        from ..core.data.collate import collate_records

        unique, inverse = np.unique(programs, return_inverse=True)
        batch = collate_records([self.records[i] for i in unique],
                                context_length=self.context_length,
                                tokenizer_ids=self.tokenizer_ids, rng=None,
                                max_graph_nodes=self.max_graph_nodes).to(self.config.device)
        out = encoder(batch)[self.config.modality].float()
        return out[inverse]

    def _embed_all(self, encoder, programs: np.ndarray):
        """Embeddings of many programs, in batches, without gradients (encoder in eval mode)."""
        import torch

        unique, inverse = np.unique(programs, return_inverse=True)
        size = self.config.batch_size
        with torch.inference_mode():
            parts = [self._embed(encoder, unique[start:start + size])
                     for start in range(0, len(unique), size)]
        return torch.cat(parts)[torch.as_tensor(inverse, device=self.config.device)].clone()

    def _frozen_rows(self, encoder, programs: np.ndarray):
        """The frozen (eval-mode, pre-trained) embedding of each row's program."""
        import torch

        if self.frozen is not None:
            return torch.as_tensor(self.frozen()[programs], dtype=torch.float32,
                                   device=self.config.device)
        return self._embed_all(encoder.eval(), programs)

    def _base_logits(self, features: np.ndarray | None):
        """The stacked head's base logits: the training rows' out-of-fold margins (``None``)
        or the margins of the rows given; None when the head is not stacked."""
        import torch

        if self.base is None:
            return None
        margins = (self.base.train_margins if features is None
                   else self.base.margins(np.asarray(features, dtype=np.float64)[:, 1:]))
        return torch.as_tensor(margins, dtype=torch.float32, device=self.config.device)

    def _probe(self, classifier, embeddings, scaled, targets, base,
               order: np.random.Generator) -> None:
        """Head-only epochs on the frozen embeddings."""
        config = self.config
        self.probe_loss = fit_head_only(classifier, embeddings, scaled, targets, base,
                                        epochs=config.probe_epochs, lr=config.probe_lr,
                                        weight_decay=config.weight_decay, order=order,
                                        device=config.device)

    # ------------------------------------------------------------------ protocol

    def fit(self, features: np.ndarray, labels: np.ndarray) -> FineTuneHead:
        """Fine-tunes encoder and head on the rows given (programs + run-time inputs)."""
        import torch
        import torch.nn.functional as F  # noqa: N812 - torch's convention
        from tqdm import tqdm

        from ..core.package import load_encoder_package

        config = self.config
        programs, runtime = self._split(features)
        self.classes_, encoded = np.unique(np.asarray(labels), return_inverse=True)
        self.encoder = self.classifier = self.base = self.head_only = None
        self.losses, self.step_losses, self.probe_loss = [], [], None
        if len(self.classes_) <= 1 or not len(programs):
            return self
        if config.runtime_base:
            self.base = RuntimeBase(len(self.classes_), config.runtime_base_folds,
                                    seed=config.seed).fit(
                np.asarray(features, dtype=np.float64)[:, 1:], encoded, programs)
        base = self._base_logits(None)
        self.low = runtime.min(axis=0)
        span = runtime.max(axis=0) - self.low
        self.span = np.where(span > 0, span, 1.0)
        # End-to-end batches are drawn over distinct programs: a program's rows (its data
        # sizes) share one encoder pass.
        distinct = np.unique(programs)
        rows_of = {int(p): np.flatnonzero(programs == p) for p in distinct}
        steps = config.epochs * -(-len(distinct) // config.batch_size)
        with torch_threads(config.threads), torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            encoder, _ = load_encoder_package(self.package_dir, map_location=config.device,
                                              verify=False)
            classifier = head_classifier(int(encoder.embedding_dim), runtime.shape[1],
                                     config.hidden, len(self.classes_)).to(config.device)
            targets = torch.as_tensor(encoded, dtype=torch.long, device=config.device)
            scaled = self._scaled(runtime)
            order = np.random.default_rng(config.seed)
            frozen = self._frozen_rows(encoder, programs)
            classifier.standardize(frozen)
            if config.probe_epochs:
                self._probe(classifier, frozen, scaled, targets, base, order)
                if config.head_only_readout:
                    self.head_only = copy.deepcopy(classifier).eval()
            del frozen
            encoder.train()
            classifier.train()
            optimizer = torch.optim.AdamW(
                [{"params": list(encoder.parameters()), "lr": config.encoder_lr},
                 {"params": list(classifier.parameters()), "lr": config.head_lr}],
                weight_decay=config.weight_decay)
            parameters = [p for group in optimizer.param_groups for p in group["params"]]
            warmup = config.warmup_fraction * steps
            scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda step: (step + 1) / (warmup + 1) if step < warmup
                else max(0.0, (steps - step) / max(1.0, steps - warmup)))
            bar = tqdm(total=steps, desc="fine-tune", unit="step", leave=False,
                       disable=not self.progress)
            try:
                for _ in range(config.epochs):
                    total, count = 0.0, 0
                    shuffled = distinct[order.permutation(len(distinct))]
                    for start in range(0, len(shuffled), config.batch_size):
                        rows = np.concatenate([rows_of[int(p)] for p in
                                               shuffled[start:start + config.batch_size]])
                        logits = classifier(self._embed(encoder, programs[rows]), scaled[rows],
                                            None if base is None else base[rows])
                        loss = F.cross_entropy(logits, targets[rows])
                        optimizer.zero_grad(set_to_none=True)
                        loss.backward()
                        if config.grad_clip > 0:
                            torch.nn.utils.clip_grad_norm_(parameters, config.grad_clip)
                        optimizer.step()
                        scheduler.step()
                        total += float(loss.detach()) * len(rows)
                        count += len(rows)
                        self.step_losses.append(float(loss.detach()))
                        bar.update(1)
                    self.losses.append(total / max(1, count))
                    bar.set_postfix(loss=f"{self.losses[-1]:.3f}")
            finally:
                bar.close()
        self.encoder, self.classifier = encoder.eval(), classifier.eval()
        return self

    def predict_head_only(self, features: np.ndarray) -> np.ndarray:
        """Predicted labels of the rows given by the head after the head-only epochs, on the
        frozen embeddings (``head_only_readout``)."""
        import torch

        programs, runtime = self._split(features)
        if self.encoder is None:
            return np.full(len(programs), self.classes_[0])
        if self.head_only is None:
            raise ValueError("no head-only head: set head_only_readout (and probe_epochs > 0)")
        with torch_threads(self.config.threads), torch.inference_mode():
            if self.frozen is not None:
                embeddings = self._frozen_rows(None, programs)
            else:
                from ..core.package import load_encoder_package

                encoder, _ = load_encoder_package(self.package_dir,
                                                  map_location=self.config.device, verify=False)
                embeddings = self._frozen_rows(encoder, programs)
            logits = self.head_only(embeddings, self._scaled(runtime),
                                    self._base_logits(features))
        return self.classes_[logits.argmax(dim=1).cpu().numpy()]

    def embeddings(self, features: np.ndarray) -> np.ndarray:
        """``[N, D]`` embeddings of the rows' programs by the fine-tuned encoder (eval mode)."""
        programs, _ = self._split(features)
        if self.encoder is None:
            raise ValueError("no fine-tuned encoder: fit() saw one class only")
        with torch_threads(self.config.threads):
            return self._embed_all(self.encoder, programs).cpu().numpy().astype(np.float64)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Predicted labels of the rows given (programs + run-time inputs)."""
        import torch

        programs, runtime = self._split(features)
        if self.encoder is None:
            return np.full(len(programs), self.classes_[0])
        with torch_threads(self.config.threads):
            embeddings = self._embed_all(self.encoder, programs)
            with torch.inference_mode():
                logits = self.classifier(embeddings, self._scaled(runtime),
                                         self._base_logits(features))
        return self.classes_[logits.argmax(dim=1).cpu().numpy()]


class FineTuneMethod:
    """The ``encoder+finetune`` method of an evaluation: a featurizer plus a head factory.

    :meth:`featurize` prepares each program's record and returns its index (``[N, 1]``, NaN
    where the program could not be prepared, listed in :attr:`errors`); an evaluation runner
    that finds :meth:`make_head` trains those heads on ``[index ; run-time inputs]`` instead of
    its frozen heads.

    Args:
        package_dir: the encoder package to fine-tune.
        prepare: ``path -> record`` (:meth:`Embedder.prepare_file`).
        tokenizer_ids, context_length, max_graph_nodes: the package's collate settings.
        config: training settings.
        name: the method's name in reports.
        description: one line for the report.
        progress: show a progress bar while each fold trains.
    """

    def __init__(self, package_dir: str | Path, prepare: Callable[[Path], dict[str, Any]], *,
                 tokenizer_ids: Any, context_length: int, max_graph_nodes: int | None,
                 config: FineTuneConfig | None = None, name: str = FINETUNE_METHOD,
                 description: str = "", progress: bool = False):
        self.package_dir = Path(package_dir)
        self.prepare = prepare
        self.tokenizer_ids = tokenizer_ids
        self.context_length = int(context_length)
        self.max_graph_nodes = max_graph_nodes
        self.config = config or FineTuneConfig()
        self.name = name
        self.description = description or f"encoder fine-tuned end to end: {self.config.describe()}"
        self.progress = progress
        self.errors: dict[str, str] = {}
        self.records: list[dict[str, Any] | None] = []
        self._frozen: np.ndarray | None = None
        self._column: np.ndarray | None = None
        self._keys: list[str] = []
        # (seed, training rows) -> [fitted head, fits still to hand it to]
        self._fitted: dict[tuple[int, str], list[Any]] = {}

    @classmethod
    def from_embedder(cls, embedder: Any, config: FineTuneConfig | None = None, *,
                      name: str = FINETUNE_METHOD, description: str = "",
                      progress: bool = False) -> FineTuneMethod:
        """Fine-tunes the package an :class:`Embedder` was loaded from, with its preparation."""
        config = config or FineTuneConfig()
        return cls(embedder.package_dir, embedder.prepare_file,
                   tokenizer_ids=embedder.tokenizer_ids, context_length=embedder.context_length,
                   max_graph_nodes=embedder.max_graph_nodes, config=config, name=name,
                   description=description or (f"encoder {embedder.source} fine-tuned end to "
                                               f"end: {config.describe()}"),
                   progress=progress)

    def featurize(self, programs: Sequence[EvalProgram]) -> np.ndarray:
        """Prepares every program's record; returns ``[N, 1]`` program indices (NaN on failure).

        Programs whose files are byte-identical share the index of the first one, so that a
        training step encodes them once.
        """
        self.errors = {}
        self.records = []
        self._frozen = None
        self._fitted = {}
        column = np.full((len(programs), 1), np.nan)
        first_of: dict[str, int] = {}
        for index, program in enumerate(programs):
            self.records.append(None)
            try:
                digest = sha256_file(program.path)
                if digest in first_of:
                    column[index, 0] = first_of[digest]
                    continue
                self.records[index] = self.prepare(Path(program.path))
                column[index, 0] = first_of[digest] = index
            except Exception as error:  # noqa: BLE001 - one bad program must not stop the run
                self.errors[program.key] = f"{type(error).__name__}: {error}"[:2000]
        self._column, self._keys = column, [program.key for program in programs]
        return column

    def program_column(self, programs: Sequence[EvalProgram]) -> np.ndarray:
        """:meth:`featurize`'s column for these programs, prepared once for every row that
        shares this fine-tuning (the readout rows)."""
        if self._column is None or self._keys != [program.key for program in programs]:
            return self.featurize(programs)
        return self._column

    def make_head(self, seed: int = 0) -> FineTuneHead | SharedFineTuneHead:
        """A fresh head for one fold; ``seed`` (the run seed) is added to the config's seed."""
        if not self.records:
            raise ConfigError(f"{self.name}: featurize() must run before make_head()")
        if self.readouts():
            return SharedFineTuneHead(self, int(seed))
        return self._new_head(int(seed))

    def _new_head(self, seed: int) -> FineTuneHead:
        return FineTuneHead(self.records, self.package_dir,
                            replace(self.config, seed=self.config.seed + seed),
                            tokenizer_ids=self.tokenizer_ids, context_length=self.context_length,
                            max_graph_nodes=self.max_graph_nodes,
                            frozen=self.frozen_embeddings, progress=self.progress)

    def fitted_head(self, seed: int, features: np.ndarray, labels: np.ndarray) -> FineTuneHead:
        """The head fine-tuned on these training rows at this seed, fitted by the first row
        that asks and handed to each row sharing the fine-tuning (the MLP and its readouts),
        then forgotten."""
        digest = hashlib.sha256(np.ascontiguousarray(features, dtype=np.float64).tobytes())
        digest.update("\0".join(map(str, np.asarray(labels).tolist())).encode())
        key = (int(seed), digest.hexdigest())
        entry = self._fitted.get(key)
        if entry is None:
            shares = 1 + self.readouts()
            entry = self._fitted[key] = [self._new_head(seed).fit(features, labels), shares]
        entry[1] -= 1
        if entry[1] <= 0:
            del self._fitted[key]
        return entry[0]

    def readouts(self) -> int:
        """How many readout rows share each fold's fitting besides the MLP row."""
        return int(self.config.xgboost_readout) + int(self.config.head_only_readout)

    def frozen_embeddings(self) -> np.ndarray:
        """``[len(records), D]`` embeddings of the package's encoder in eval mode (NaN rows
        where a record is missing), computed once and shared by every fold's head-only
        epochs (each fold starts from the same weights)."""
        if self._frozen is None:
            import torch

            from ..core.package import load_encoder_package

            config = self.config
            present = np.array([i for i, r in enumerate(self.records) if r is not None],
                               dtype=np.int64)
            helper = FineTuneHead(self.records, self.package_dir, config,
                                  tokenizer_ids=self.tokenizer_ids,
                                  context_length=self.context_length,
                                  max_graph_nodes=self.max_graph_nodes)
            encoder, _ = load_encoder_package(self.package_dir, map_location=config.device,
                                              verify=False)
            frozen = np.full((len(self.records), int(encoder.embedding_dim)), np.nan,
                             dtype=np.float32)
            with torch_threads(config.threads), torch.random.fork_rng(devices=[]):
                if len(present):
                    frozen[present] = helper._embed_all(encoder.eval(), present).cpu().numpy()
            self._frozen = frozen
        return self._frozen

    def settings(self) -> dict[str, Any]:
        """The training settings, for the report's metadata."""
        return asdict(self.config)


class SharedFineTuneHead:
    """The MLP row's head when a readout shares its fine-tuning (:meth:`FineTuneMethod.
    fitted_head`): same predictions as the :class:`FineTuneHead` it wraps."""

    deterministic = False

    def __init__(self, method: FineTuneMethod, seed: int):
        self.method, self.seed = method, seed
        self.tuned: FineTuneHead | None = None

    def fit(self, features: np.ndarray, labels: np.ndarray) -> SharedFineTuneHead:
        self.tuned = self.method.fitted_head(self.seed, features, labels)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        if self.tuned is None:
            raise ValueError("predict() before fit()")
        return self.tuned.predict(features)
